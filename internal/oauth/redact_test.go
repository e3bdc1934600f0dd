package oauth

import (
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/securitytest"
)

// TestRedaction prints a Request and a Token every way a log line or an
// error could (fmt verbs, slog JSON and text, nested) and checks that no
// piece of the client secret or the access token appears, while the
// non-secret fields still do.
func TestRedaction(t *testing.T) {
	const token = "eyJhbGciOi.TOKEN-payload-77f0e1"
	req := Request{TokenURL: "https://auth.example.com/oauth/token", ClientID: clientID, ClientSecret: secret,
		Audience: "https://api.example.com", Params: map[string]string{"intermediary_id": "agency-42"}}
	tok := Token{AccessToken: token, TokenType: "Bearer", ExpiresIn: time.Hour}
	for _, tt := range []struct {
		name  string
		v     any
		shown string
	}{
		{"Request", req, clientID},
		{"*Request", &req, clientID},
		{"Token", tok, "Bearer"},
		{"*Token", &tok, "Bearer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range securitytest.Renderings(tt.v) {
				if piece, found := leakcheck.Find(r.Text, secret, token); found {
					t.Errorf("%s of %s = %q; it contains %q, a piece of the secret or token", r.How, tt.name, r.Text, piece)
				}
				if r.How != "%x" && !strings.Contains(r.Text, tt.shown) {
					t.Errorf("%s of %s = %q; want it to show %q", r.How, tt.name, r.Text, tt.shown)
				}
			}
		})
	}
}
