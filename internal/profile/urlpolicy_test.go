package profile

import (
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

// TestURLPolicy checks token_url in a document against the URL cases every
// secret-sending check shares: https anywhere, plain http only to a
// loopback host.
func TestURLPolicy(t *testing.T) {
	for _, c := range securitytest.URLCases {
		t.Run(c.URL, func(t *testing.T) {
			doc := "profiles:\n  - name: p\n    token_url: \"" + c.URL + "\"\n    secret_id: s\n"
			_, err := Parse([]byte(doc), Options{})
			if (err == nil) != c.Allowed {
				t.Fatalf("Parse(token_url %q) = %v; want allowed=%v (%s)", c.URL, err, c.Allowed, c.Why)
			}
			if err != nil && (!strings.Contains(err.Error(), `profile "p"`) || !strings.Contains(err.Error(), "field token_url")) {
				t.Errorf("Parse error = %q; want it to name the profile and token_url", err)
			}
		})
	}
}
