package tokencache

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

// authRecorder is a base RoundTripper that records the Authorization header
// of what it is asked to send, without any network.
type authRecorder struct {
	mu    sync.Mutex
	auths []string
}

func (a *authRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.auths = append(a.auths, r.Header.Get("Authorization"))
	a.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
}

// TestTransportURLPolicy checks that Transport sends the token only where
// the shared URL cases allow it (https anywhere, plain http only to a
// loopback host) and refuses the rest before anything is sent.
func TestTransportURLPolicy(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	c, _ := newTestCache(f, clk, Config{})
	for _, tc := range securitytest.URLCases {
		t.Run(tc.URL, func(t *testing.T) {
			base := &authRecorder{}
			req, err := http.NewRequest(http.MethodGet, tc.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Source(testProfile).Transport(base, "").RoundTrip(req)
			if tc.Allowed {
				if err != nil || len(base.auths) != 1 || base.auths[0] != "Bearer token-1" {
					t.Fatalf("RoundTrip(%q) = %v, sent %q; want one request with the token (%s)", tc.URL, err, base.auths, tc.Why)
				}
				resp.Body.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), "refusing to send a token") || len(base.auths) != 0 {
				t.Fatalf("RoundTrip(%q) = %v, sent %q; want a refusal and nothing sent (%s)", tc.URL, err, base.auths, tc.Why)
			}
		})
	}
}
