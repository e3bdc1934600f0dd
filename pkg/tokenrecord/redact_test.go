package tokenrecord

import (
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

// TestNoTokenInAnyRendering prints a Record every way a log line or an
// error could (fmt verbs, slog JSON and text, nested) and checks that no
// piece of the access token appears, while the profile does.
func TestNoTokenInAnyRendering(t *testing.T) {
	r := sample()
	for _, v := range []any{r, &r} {
		for _, out := range securitytest.Renderings(v) {
			if piece, found := leakcheck.Find(out.Text, token); found {
				t.Errorf("%s of %T = %q; it contains %q, a piece of the token", out.How, v, out.Text, piece)
			}
			if out.How != "%x" && !strings.Contains(out.Text, r.Profile) {
				t.Errorf("%s of %T = %q; want it to name the profile", out.How, v, out.Text)
			}
		}
	}
}
