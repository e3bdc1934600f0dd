package tokenstore

import (
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

// TestNoTokenInAnyRendering prints a Stored record every way a log line or
// an error could (fmt verbs, slog JSON and text, nested) and checks that no
// piece of its access token appears, while the profile does.
func TestNoTokenInAnyRendering(t *testing.T) {
	const token = "eyJhbGciOi.STORED-token-4c3b2a19"
	rec := record(1)
	rec.AccessToken, rec.Profile = token, "aviv-caas-agency-42"
	st := Stored{Record: rec, Version: 7}
	for _, v := range []any{st, &st} {
		for _, r := range securitytest.Renderings(v) {
			if piece, found := leakcheck.Find(r.Text, token); found {
				t.Errorf("%s of %T = %q; it contains %q, a piece of the token", r.How, v, r.Text, piece)
			}
			if r.How != "%x" && !strings.Contains(r.Text, "aviv-caas-agency-42") {
				t.Errorf("%s of %T = %q; want it to name the profile", r.How, v, r.Text)
			}
		}
	}
}
