package oauth

import (
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
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

// TestRedactionWithKey: a private_key_jwt or tls_client_auth Request, with
// its parsed key and certificate, renders without any piece of the key
// (its PEM, or its private numbers in any base).
func TestRedactionWithKey(t *testing.T) {
	key := oauthtest.RSAKey()
	ca := oauthtest.NewCA()
	creds, err := clientcred.Parse("s", []byte(fmt.Sprintf(`{"client_id":"cid","private_key":%q,"certificate":%q}`, key.PEM, ca.ClientCert("cid", key))))
	if err != nil {
		t.Fatal(err)
	}
	req := NewRequest(profile.Profile{TokenURL: "https://auth.example.com/token", Auth: profile.AuthPrivateKeyJWT}, creds)
	d := key.Signer.(*rsa.PrivateKey).D
	forbidden := []string{leakcheck.PEMBody(key.PEM), d.String(), d.Text(16), fmt.Sprintf("%x", d.Bytes())}
	for _, v := range []any{req, &req} {
		for _, r := range securitytest.Renderings(v) {
			if piece, found := leakcheck.Find(r.Text, forbidden...); found {
				t.Errorf("%s of %T = %q; it contains %q, a piece of the private key", r.How, v, r.Text, piece)
			}
			if r.How != "%x" && !strings.Contains(r.Text, "private_key_jwt") {
				t.Errorf("%s of %T = %q; want it to name the auth method", r.How, v, r.Text)
			}
		}
	}
}
