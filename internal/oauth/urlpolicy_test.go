package oauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

// recordingTransport answers every request with a valid token and records
// where requests went, without any network.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, r.URL.String())
	rt.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"access_token":"tok-1234567890","expires_in":60}`))}, nil
}

// TestURLPolicy checks that Fetch sends the client secret only where the
// shared URL cases allow it (https anywhere, plain http only to a loopback
// host), and refuses the rest before any connection.
func TestURLPolicy(t *testing.T) {
	for _, c := range securitytest.URLCases {
		t.Run(c.URL, func(t *testing.T) {
			rt := &recordingTransport{}
			cl := newClient(&sleeps{})
			cl.HTTP = &http.Client{Transport: rt}
			_, err := cl.Fetch(context.Background(), Request{TokenURL: c.URL, ClientID: clientID, ClientSecret: secret})
			if c.Allowed {
				if err != nil || len(rt.urls) != 1 {
					t.Fatalf("Fetch(%q) = %v after %d requests; want one request and a token (%s)", c.URL, err, len(rt.urls), c.Why)
				}
				return
			}
			if !errors.Is(err, ErrInsecureURL) || len(rt.urls) != 0 {
				t.Fatalf("Fetch(%q) = %v after %d requests; want ErrInsecureURL and none sent (%s)", c.URL, err, len(rt.urls), c.Why)
			}
			if strings.Contains(err.Error(), secret[:8]) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}
