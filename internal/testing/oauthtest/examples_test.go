package oauthtest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// TestExampleProviders runs the sample profiles of Cognito, Okta (org and
// custom authorization servers) and Salesforce against the matching fakes: each succeeds with the method its
// profile names and is refused, with a hint, with the default one.
func TestExampleProviders(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.Examples()...)
	defer srv.Close()
	srv.AddClient("cognito-client", "cognito-secret-1234")
	srv.AddClient("sf-client", "sf-secret-12345678")
	key := oauthtest.ECKey()
	srv.AddClientKey("okta-client", key.Public())
	secrets := map[string]string{
		"oauth-clients/cognito-orders": `{"client_id":"cognito-client","client_secret":"cognito-secret-1234"}`,
		"oauth-clients/okta-service":   fmt.Sprintf(`{"client_id":"okta-client","private_key":%q}`, key.PEM),
		"oauth-clients/salesforce":     `{"client_id":"sf-client","client_secret":"sf-secret-12345678"}`,
		"oauth-clients/okta-orders":    `{"client_id":"cognito-client","client_secret":"cognito-secret-1234"}`,
	}
	wantLife := map[string]time.Duration{"cognito-orders": time.Hour, "okta-users-read": time.Hour, "okta-orders": time.Hour, "salesforce-crm": 2 * time.Hour}
	for _, f := range []string{"cognito.yaml", "okta.yaml", "salesforce.yaml"} {
		doc, err := os.ReadFile("../../../functions/rotator/profiles/examples/" + f)
		if err != nil {
			t.Fatal(err)
		}
		local, err := srv.Localize(doc)
		if err != nil {
			t.Fatalf("Localize(%s) = %v", f, err)
		}
		ps, err := profile.Parse(local, profile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			raw := secrets[p.SecretID]
			t.Run(p.Name, func(t *testing.T) {
				creds, err := clientcred.Parse(p.SecretID, []byte(raw))
				if err != nil {
					t.Fatal(err)
				}
				c := &oauth.Client{MaxAttempts: 1}
				tok, err := c.Fetch(context.Background(), oauth.NewRequest(p, creds))
				if err != nil || tok.ExpiresIn > wantLife[p.Name] || tok.ExpiresIn < wantLife[p.Name]-time.Minute {
					t.Fatalf("Fetch(%s) = %v, %v; want a token living %v", p.Name, tok, err, wantLife[p.Name])
				}
				if !srv.Valid(tok.AccessToken) {
					t.Errorf("the fake does not know the token it issued")
				}
				// The default method (secret in a JSON body) is refused with a hint.
				def := p
				def.Auth, def.Body = profile.AuthClientSecretPost, profile.BodyJSON
				creds, _ = clientcred.Parse(p.SecretID, []byte(`{"client_id":"`+creds.ClientID+`","client_secret":"x"}`))
				_, err = c.Fetch(context.Background(), oauth.NewRequest(def, creds))
				if err == nil || !strings.Contains(err.Error(), "auth client_secret_post and a json body") {
					t.Errorf("Fetch(%s with the defaults) = %v; want a rejection naming the method and body", p.Name, err)
				}
			})
		}
	}
	// Salesforce without default_lifetime: refused, naming both options.
	doc, _ := srv.Localize([]byte("profiles:\n  - name: sf\n    token_url: https://x.my.salesforce.com/services/oauth2/token\n    secret_id: s\n    body: form\n"))
	ps, _ := profile.Parse(doc, profile.Options{})
	creds, _ := clientcred.Parse("s", []byte(secrets["oauth-clients/salesforce"]))
	_, err := (&oauth.Client{MaxAttempts: 1}).Fetch(context.Background(), oauth.NewRequest(ps[0], creds))
	if err == nil || !strings.Contains(err.Error(), "default_lifetime") || !strings.Contains(err.Error(), "expires_in") {
		t.Errorf("Fetch(salesforce without default_lifetime) = %v; want an error naming default_lifetime and expires_in", err)
	}
}
