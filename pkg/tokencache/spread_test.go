package tokencache

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestFailedReadSpread checks that processes whose reads failed together
// (the record missing, SSM throttling) read again spread over the half of
// MinReadInterval that follows it, never before it, rather than all at
// once every MinReadInterval.
func TestFailedReadSpread(t *testing.T) {
	const n = 200
	f, clk := newFakeSSM(), newClock()
	caches := make([]*Cache, n)
	for i := range caches {
		caches[i], _ = newTestCache(f, clk, Config{})
	}
	reread := func() int {
		before := f.Reads()
		for _, c := range caches {
			if _, err := c.Source(testProfile).Token(context.Background()); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Token(%q) = %v; want ErrNotFound", testProfile, err)
			}
		}
		return f.Reads() - before
	}
	if got := reread(); got != n {
		t.Fatalf("first reads = %d; want %d", got, n)
	}
	m := DefaultMinReadInterval
	for _, tt := range []struct {
		at     time.Duration
		lo, hi int
	}{
		{m - time.Millisecond, 0, 0},         // within MinReadInterval: no read
		{m * 5 / 4, n / 5, n * 4 / 5},        // halfway through the spread: about half (far from all)
		{m * 3 / 2, n - n*4/5, n - n/5},      // the rest, by the end of the spread
		{m*5/4 + m - time.Millisecond, 0, 0}, // none of them again within MinReadInterval of its own read
	} {
		clk.Advance(tt.at - clk.Now().Sub(t0))
		if got := reread(); got < tt.lo || got > tt.hi {
			t.Errorf("reads at +%s = %d of %d caches; want %d to %d", tt.at, got, n, tt.lo, tt.hi)
		}
	}
}
