package oauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// TestNoAttemptWithoutTimeToFinish: an attempt starts only when a whole
// RequestTimeout fits before the run's deadline (the wait before a retry
// included), so a token the endpoint issues is never cut off on its way
// back: tokens issued by the endpoint = tokens Fetch returned.
func TestNoAttemptWithoutTimeToFinish(t *testing.T) {
	for _, tt := range []struct {
		name     string
		deadline time.Duration
		fault    bool // a 503 with Retry-After: 1 first
		requests int
		want     string
	}{
		{"first attempt", 500 * time.Millisecond, false, 0, "nothing was sent"},
		{"retry after Retry-After", 1500 * time.Millisecond, true, 1, "no time left in this run to retry"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := oauthtest.NewServer(oauthtest.PartnerAPI)
			defer srv.Close()
			srv.AddClient(clientID, secret)
			srv.SetSlowAnswer(600 * time.Millisecond) // issued at once, answered 0.6 s later
			if tt.fault {
				srv.Inject(oauthtest.Fault{Status: 503, Header: map[string]string{"Retry-After": "1"}})
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			c := &Client{RequestTimeout: time.Second}
			tok, err := c.Fetch(ctx, Request{TokenURL: srv.TokenURL("partner"), ClientID: clientID, ClientSecret: secret,
				Headers: map[string]string{"Accept": "application/json"}})
			returned := 0
			if err == nil {
				returned = 1
			}
			if issued := len(srv.IssuedTokens()); issued != returned {
				t.Errorf("Fetch = %v, %v: the endpoint issued %d token(s), Fetch returned %d; want every token issued returned", tok, err, issued, returned)
			}
			var oe *Error
			if !errors.As(err, &oe) || !strings.Contains(err.Error(), tt.want) || srv.RequestCount() != tt.requests || !oe.Retryable {
				t.Errorf("Fetch = %v after %d requests; want a retryable error saying %q after %d", err, srv.RequestCount(), tt.want, tt.requests)
			}
		})
	}
}
