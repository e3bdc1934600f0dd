package rotate

import (
	"context"
	"testing"
	"time"
)

// TestExplicitLeaseTTLWithinRunDeadline: a LeaseTTL longer than the run's
// context is cut to the context's deadline, as a sized lease is, so no
// write slot is planned past the deadline and no token is fetched that
// its write could not store.
func TestExplicitLeaseTTLWithinRunDeadline(t *testing.T) {
	h := budgetHarness(t, 12, 1)
	h.r.LeaseTTL = 10 * time.Minute
	h.r.WriteRate = 3 // slots 0.37 s apart; tokens requested 2 s before theirs
	h.r.Sleep = nil   // the real clock: the deadline is real
	h.r.Concurrency = 16
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sum, _ := h.r.Run(ctx, Request{})
	fetched, stored := h.fetch.calls.Load(), int64(h.store.writes)
	if fetched != stored || stored == 0 {
		t.Fatalf("LeaseTTL 10m on a 2 s run: %d tokens fetched, %d stored (%d lost); want every fetched token stored, and some (summary %+v)",
			fetched, stored, fetched-stored, sum)
	}
	if got := h.r.leaseTTL(ctx, 12); got > 2*time.Second {
		t.Errorf("leaseTTL with LeaseTTL 10m on a 2 s context = %s; want at most the 2 s left", got)
	}
}
