package tokencache

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

// TestNoTokenInAnyRendering prints a Cache, a Source holding a token, a
// Transport and an *Error every way a log line or an error could (fmt
// verbs, slog JSON and text, nested) and checks that no piece of the token
// appears.
func TestNoTokenInAnyRendering(t *testing.T) {
	const token = "eyJhbGciOi.CACHED-token-5d4c3b2a"
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, token, t0, time.Hour)
	c, _ := newTestCache(f, clk, Config{})
	src := c.Source(testProfile)
	if got, err := src.Token(context.Background()); err != nil || got != token {
		t.Fatalf("Token = %q, %v", got, err)
	}
	_, err := c.Source("no-record").Token(context.Background())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Token of a missing record = %v; want an *Error", err)
	}
	// The renderings walk the Sources' fields, singleflight's included: let
	// each read's goroutine finish first (a Do on the same key waits for
	// it), or the race detector sees fmt read what that goroutine writes.
	for _, s := range []*Source{src, c.Source("no-record")} {
		s.flight.Do("", func() (any, error) { return nil, nil })
	}
	// The Transport gets a base of its own: http.DefaultTransport's idle
	// connections, left by other tests, change under the walk as well.
	for _, v := range []any{c, src, src.Transport(&http.Transport{}, ""), e} {
		for _, r := range securitytest.Renderings(v) {
			if piece, found := leakcheck.Find(r.Text, token); found {
				t.Errorf("%s of %T contains %q, a piece of the token", r.How, v, piece)
			}
		}
	}
}
