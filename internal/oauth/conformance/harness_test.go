package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
)

// fetch runs the rotator's exchange for one profile document entry (YAML
// fields below name, token_url and secret_id) and one SecretString.
func fetch(t *testing.T, c *oauth.Client, tokenURL, extra string, secret map[string]string) (oauth.Token, error) {
	t.Helper()
	doc := fmt.Sprintf("profiles:\n  - name: conformance\n    token_url: %s\n    secret_id: clients/conformance\n%s", tokenURL, extra)
	ps, err := profile.Parse([]byte(doc), profile.Options{})
	if err != nil {
		t.Fatalf("profile.Parse(%q) = %v", doc, err)
	}
	raw, err := json.Marshal(secret)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := clientcred.Parse("clients/conformance", raw)
	if err != nil {
		t.Fatalf("clientcred.Parse = %v", err)
	}
	if c == nil {
		c = &oauth.Client{}
	}
	c.MaxAttempts = 1
	return c.Fetch(context.Background(), oauth.NewRequest(ps[0], creds))
}

// wantToken checks a token of a server whose tokens live an hour.
func wantToken(t *testing.T, tok oauth.Token, err error, source string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Fetch = %v; want a token", err)
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") || tok.ExpiresIn > time.Hour || tok.ExpiresIn < 59*time.Minute {
		t.Fatalf("Fetch = %v; want a Bearer token living about 1h", tok)
	}
	if source != "" && tok.ExpirySource != source {
		t.Errorf("Fetch expiry from %q; want %q", tok.ExpirySource, source)
	}
}

// wantRejection checks that err names what was sent and what to change.
func wantRejection(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("Fetch succeeded; want a rejection")
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("Fetch error = %q; want it to contain %q", err, f)
		}
	}
}
