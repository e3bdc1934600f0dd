package clientcred

import (
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

// TestNoSecretInAnyRendering prints Credentials every way a log line or an
// error could (fmt verbs, slog JSON and text, nested) and checks that no
// piece of the client secret appears, while the client id does.
func TestNoSecretInAnyRendering(t *testing.T) {
	c := Credentials{ClientID: "client-id-1", ClientSecret: secret}
	for _, v := range []any{c, &c} {
		for _, r := range securitytest.Renderings(v) {
			if piece, found := leakcheck.Find(r.Text, secret); found {
				t.Errorf("%s of %T = %q; it contains %q, a piece of the client secret", r.How, v, r.Text, piece)
			}
			if r.How != "%x" && !strings.Contains(r.Text, "client-id-1") {
				t.Errorf("%s of %T = %q; want it to show the client id", r.How, v, r.Text)
			}
		}
	}
}
