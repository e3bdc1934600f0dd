package rotate

import (
	"context"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
)

// slowFetcher answers after moving the clock on by delay, as a token
// endpoint that takes that long to answer.
type slowFetcher struct {
	clock *clock
	delay time.Duration
	ttl   time.Duration
	token string
}

func (f *slowFetcher) Fetch(context.Context, oauth.Request) (oauth.Token, error) {
	f.clock.Advance(f.delay)
	return oauth.Token{AccessToken: f.token, TokenType: "Bearer", ExpiresIn: f.ttl}, nil
}

// TestExpiryCountsFromSend checks that expires_at is counted from the
// moment the request was sent, not from the answer, so the stored expiry is
// never later than the provider's own; and that a fraction of a second is
// rounded down, never up.
func TestExpiryCountsFromSend(t *testing.T) {
	for _, tt := range []struct {
		name  string
		start time.Duration // after the harness's whole-second start
	}{
		{"whole second", 0},
		{"fraction of a second", 700 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.clock.Advance(tt.start)
			sent := h.clock.Now()
			h.r.Fetcher = &slowFetcher{clock: h.clock, delay: 10 * time.Second, ttl: time.Hour, token: "tok-slow-answer-123"}
			if _, err := h.run(t, Request{Force: true, Profiles: []string{"partner"}}); err != nil {
				t.Fatal(err)
			}
			rec, ok := h.store.record("/oauth-tokens/partner")
			if !ok {
				t.Fatal("no record stored")
			}
			providerExpiry := sent.Add(time.Hour) // the provider counts from when it got the request
			if want := providerExpiry.Truncate(time.Second); !rec.ExpiresAt.Equal(want) {
				t.Errorf("expires_at = %v; want send time + expires_in = %v (not answer time + expires_in = %v)", rec.ExpiresAt, want, sent.Add(10*time.Second+time.Hour))
			}
			if rec.ExpiresAt.After(providerExpiry) {
				t.Errorf("expires_at %v is later than the provider's expiry %v", rec.ExpiresAt, providerExpiry)
			}
			if want := sent.Truncate(time.Second); !rec.IssuedAt.Equal(want) {
				t.Errorf("issued_at = %v; want the send time %v", rec.IssuedAt, want)
			}
		})
	}
}
