package profile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExampleProfiles: every sample profile in
// functions/rotator/profiles/examples parses and uses the client
// authentication, body and lifetime its provider documents.
func TestExampleProfiles(t *testing.T) {
	want := map[string]struct {
		auth     Auth
		body     Body
		lifetime string
	}{
		"okta-users-read":      {AuthPrivateKeyJWT, BodyForm, ""},
		"okta-orders":          {AuthClientSecretBasic, BodyForm, ""},
		"entra-orders":         {AuthClientSecretPost, BodyForm, ""},
		"entra-graph":          {AuthPrivateKeyJWT, BodyForm, ""},
		"cognito-orders":       {AuthClientSecretBasic, BodyForm, ""},
		"keycloak-orders":      {AuthClientSecretBasic, BodyForm, ""},
		"keycloak-orders-mtls": {AuthTLSClientAuth, BodyForm, ""},
		"auth0-orders":         {AuthClientSecretPost, BodyJSON, ""},
		"auth0-orders-pkjwt":   {AuthPrivateKeyJWT, BodyForm, ""},
		"salesforce-crm":       {AuthClientSecretPost, BodyForm, "2h0m0s"},
	}
	files, err := filepath.Glob("../../functions/rotator/profiles/examples/*.yaml")
	if err != nil || len(files) != 6 {
		t.Fatalf("examples = %v, %v; want six files", files, err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := Parse(data, Options{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range ps {
			w, ok := want[p.Name]
			if !ok {
				t.Errorf("%s: profile %s is not in this test's table", f, p.Name)
				continue
			}
			seen[p.Name] = true
			lifetime := ""
			if p.DefaultLifetime > 0 {
				lifetime = p.DefaultLifetime.String()
			}
			if p.Auth != w.auth || p.Body != w.body || lifetime != w.lifetime {
				t.Errorf("%s: %s = auth %s body %s default_lifetime %q; want %s %s %q", f, p.Name, p.Auth, p.Body, lifetime, w.auth, w.body, w.lifetime)
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("found %d of the %d sample profiles", len(seen), len(want))
	}
	ps, _ := Load("../../functions/rotator/profiles/examples/auth0.yaml", Options{})
	if len(ps) != 2 || ps[1].AssertionAudience != "https://example.eu.auth0.com/" {
		t.Errorf("auth0-orders-pkjwt assertion_audience = %+v; want the tenant URL with its trailing slash", ps)
	}
}
