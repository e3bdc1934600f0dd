package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const valid = `
profiles:
  - name: aviv-caas-agency-42
    token_url: https://auth.api.aviv-group.com/oauth/token
    secret_id: oauth-clients/aviv
    audience: https://api.aviv-group.com/caas/v3
    params:
      intermediary_id: agency-42
  - name: partner
    token_url: http://127.0.0.1:8080/api/oauth/token
    secret_id: oauth-clients/partner
    headers:
      accept: application/json
    body: form
    refresh_before: 10m
    parameter: /tokens/custom/partner-token
`

func TestParseValid(t *testing.T) {
	ps, err := Parse([]byte(valid), Options{ParameterPrefix: "/tokens/"})
	if err != nil {
		t.Fatalf("Parse = %v; want nil", err)
	}
	if len(ps) != 2 {
		t.Fatalf("Parse returned %d profiles; want 2", len(ps))
	}
	a, b := ps[0], ps[1]
	if a.Body != BodyJSON || a.RefreshBefore != DefaultRefreshBefore || a.Parameter != "/tokens/aviv-caas-agency-42" {
		t.Errorf("defaults: body=%q refresh_before=%v parameter=%q; want json, 15m, /tokens/aviv-caas-agency-42", a.Body, a.RefreshBefore, a.Parameter)
	}
	if a.Params["intermediary_id"] != "agency-42" {
		t.Errorf("params = %v; want intermediary_id=agency-42", a.Params)
	}
	if b.Headers["Accept"] != "application/json" {
		t.Errorf("headers = %v; want canonical Accept", b.Headers)
	}
	if b.Body != BodyForm || b.RefreshBefore != 10*time.Minute || b.Parameter != "/tokens/custom/partner-token" {
		t.Errorf("partner = %+v; want form, 10m, /tokens/custom/partner-token", b)
	}
}

func TestParseJSON(t *testing.T) {
	doc := `{"profiles":[{"name":"p","token_url":"https://x.example/t","secret_id":"s","params":{"n":42}}]}`
	ps, err := Parse([]byte(doc), Options{})
	if err != nil {
		t.Fatalf("Parse(JSON) = %v", err)
	}
	if ps[0].Parameter != "/oauth-tokens/p" || ps[0].Params["n"] != "42" {
		t.Errorf("Parse(JSON) = %+v; want default parameter and params n=42", ps[0])
	}
}

func TestParseInvalid(t *testing.T) {
	base := "  - name: ok\n    token_url: https://a.example/t\n    secret_id: s\n"
	tests := []struct {
		name string
		doc  string
		want []string // every fragment must appear in the error
	}{
		{"empty", ``, []string{"field profiles", "empty"}},
		{"no profiles", `profiles: []`, []string{"at least one profile"}},
		{"unknown top-level field", "profile: []", []string{"field profile not found"}},
		{"unknown profile field", "profiles:\n" + base + "    audiance: x\n", []string{"audiance"}},
		{"missing name", "profiles:\n  - token_url: https://a.example/t\n    secret_id: s\n", []string{"profiles[0]", "field name: is required"}},
		{"malformed name", "profiles:\n  - name: a/b\n    token_url: https://a.example/t\n    secret_id: s\n", []string{`profile "a/b"`, "field name", "letters, digits"}},
		{"duplicate name", "profiles:\n" + base + base, []string{`profile "ok" (profiles[1])`, "duplicates profiles[0]"}},
		{"missing token_url", "profiles:\n  - name: p\n    secret_id: s\n", []string{`profile "p"`, "field token_url: is required"}},
		{"http token_url", "profiles:\n  - name: p\n    token_url: http://auth.example/t\n    secret_id: s\n", []string{`profile "p"`, "token_url", "https"}},
		{"ftp token_url", "profiles:\n  - name: p\n    token_url: ftp://auth.example/t\n    secret_id: s\n", []string{"token_url", "https"}},
		{"relative token_url", "profiles:\n  - name: p\n    token_url: /oauth/token\n    secret_id: s\n", []string{"token_url", "not an absolute URL"}},
		{"user info in token_url", "profiles:\n  - name: p\n    token_url: https://u:pw@a.example/t\n    secret_id: s\n", []string{"token_url", "user info"}},
		{"missing secret_id", "profiles:\n  - name: p\n    token_url: https://a.example/t\n", []string{`profile "p"`, "field secret_id: is required"}},
		{"bad duration", "profiles:\n" + base + "    refresh_before: soon\n", []string{`profile "ok"`, "refresh_before", "not a duration"}},
		{"negative duration", "profiles:\n" + base + "    refresh_before: -5m\n", []string{"refresh_before", "positive"}},
		{"unknown body", "profiles:\n" + base + "    body: xml\n", []string{`profile "ok"`, "field body", "json or form"}},
		{"reserved param", "profiles:\n" + base + "    params: {client_secret: x}\n", []string{"params.client_secret", "may not be overridden"}},
		{"reserved header", "profiles:\n" + base + "    headers: {authorization: Basic x}\n", []string{"headers.Authorization", "may not be set"}},
		{"header injection", "profiles:\n" + base + "    headers: {X-A: \"a\\r\\nB: c\"}\n", []string{"headers.X-A", "line break"}},
		{"bad parameter", "profiles:\n" + base + "    parameter: no-slash\n", []string{"field parameter", "SSM parameter path"}},
		{"parameter outside prefix", "profiles:\n" + base + "    parameter: /elsewhere/x\n", []string{"field parameter", "outside the token prefix /oauth-tokens/"}},
		{"parameter ending in .lock", "profiles:\n" + base + "    parameter: /oauth-tokens/x.lock\n", []string{"field parameter", ".lock"}},
		{"name ending in .lock", "profiles:\n  - name: a.lock\n    token_url: https://a.example/t\n    secret_id: s\n", []string{`profile "a.lock"`, "field name", "lease"}},
		{"shared parameter", "profiles:\n" + base + "    parameter: /oauth-tokens/y\n  - name: two\n    token_url: https://a.example/t\n    secret_id: s\n    parameter: /oauth-tokens/y\n", []string{`profile "two"`, `already used by profile "ok"`}},
		{"default parameter taken", "profiles:\n" + base + "    parameter: /oauth-tokens/two\n  - name: two\n    token_url: https://a.example/t\n    secret_id: s\n", []string{`profile "two"`, `already used by profile "ok"`}},
		{"header given twice", "profiles:\n" + base + "    headers: {accept: a, Accept: b}\n", []string{"headers.Accept", "more than once"}},
		{"hop-by-hop header", "profiles:\n" + base + "    headers: {Upgrade: h2c}\n", []string{"headers.Upgrade", "may not be set"}},
		{"proxy credential header", "profiles:\n" + base + "    headers: {Proxy-Authorization: Basic eA==}\n", []string{"headers.Proxy-Authorization", "may not be set"}},
		{"password in unparseable url", "profiles:\n  - name: p\n    token_url: \"https://u:pa55w0rd@[bad/t\"\n    secret_id: s\n", []string{"token_url", "not an absolute URL"}},
		{"two documents", "profiles:\n" + base + "---\nprofiles: []\n", []string{"more than one YAML document"}},
		{"wrong type", "profiles: {a: b}", []string{"not a valid profiles document"}},
		{"unknown auth", "profiles:\n" + base + "    auth: client_secret_jwt\n", []string{`profile "ok"`, "field auth", "client_secret_basic", `"client_secret_jwt"`}},
		{"basic as a header", "profiles:\n" + base + "    headers: {Authorization: Basic pa55w0rd}\n", []string{"headers.Authorization", "auth: client_secret_basic"}},
		{"reserved assertion param", "profiles:\n" + base + "    params: {client_assertion: x}\n", []string{"params.client_assertion", "may not be overridden"}},
		{"assertion_audience without private_key_jwt", "profiles:\n" + base + "    assertion_audience: https://a.example/\n", []string{"field assertion_audience", "private_key_jwt", "client_secret_post"}},
		{"mtls over http", "profiles:\n  - name: p\n    token_url: http://127.0.0.1:8080/t\n    secret_id: s\n    auth: tls_client_auth\n", []string{`profile "p"`, "field auth", "must be https"}},
		{"bad default_lifetime", "profiles:\n" + base + "    default_lifetime: a day\n", []string{"field default_lifetime", "not a duration such as 1h"}},
		{"negative default_lifetime", "profiles:\n" + base + "    default_lifetime: -1h\n", []string{"field default_lifetime", "positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Parse([]byte(tt.doc), Options{})
			if err == nil {
				t.Fatalf("Parse(%q) = %v, nil; want an error", tt.doc, ps)
			}
			if ps != nil {
				t.Errorf("Parse returned %d profiles with an error; want none (refused as a whole)", len(ps))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse error = %q; want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "pa55w0rd") {
				t.Errorf("Parse error %q echoes a password", err)
			}
		})
	}
}

func TestParseAuth(t *testing.T) {
	base := "profiles:\n  - name: p\n    token_url: https://a.example/t\n    secret_id: s\n"
	tests := []struct {
		name     string
		extra    string
		auth     Auth
		body     Body
		aud      string
		lifetime time.Duration
	}{
		{"default", "", AuthClientSecretPost, BodyJSON, "", 0},
		{"post with form", "    auth: client_secret_post\n    body: form\n", AuthClientSecretPost, BodyForm, "", 0},
		{"basic defaults to form", "    auth: client_secret_basic\n", AuthClientSecretBasic, BodyForm, "", 0},
		{"basic with json", "    auth: client_secret_basic\n    body: json\n", AuthClientSecretBasic, BodyJSON, "", 0},
		{"private_key_jwt", "    auth: private_key_jwt\n    assertion_audience: https://a.example/\n", AuthPrivateKeyJWT, BodyForm, "https://a.example/", 0},
		{"tls_client_auth", "    auth: tls_client_auth\n    default_lifetime: 2h\n", AuthTLSClientAuth, BodyForm, "", 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Parse([]byte(base+tt.extra), Options{})
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			p := ps[0]
			if p.Auth != tt.auth || p.Body != tt.body || p.AssertionAudience != tt.aud || p.DefaultLifetime != tt.lifetime {
				t.Errorf("Parse = auth %q body %q assertion_audience %q default_lifetime %v; want %q %q %q %v",
					p.Auth, p.Body, p.AssertionAudience, p.DefaultLifetime, tt.auth, tt.body, tt.aud, tt.lifetime)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	doc := "profiles:\n  - name: a\n    token_url: http://evil.example/t\n  - name: b\n    token_url: https://x.example/t\n    secret_id: s\n    body: xml\n"
	_, err := Parse([]byte(doc), Options{})
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("Parse error %v is not a *profile.Error", err)
	}
	for _, w := range []string{`"a"`, "token_url", "secret_id", `"b"`, "body"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %s", err, w)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "profiles.yaml")
	if err := os.WriteFile(path, []byte(valid), 0o600); err != nil {
		t.Fatal(err)
	}
	if ps, err := Load(path, Options{ParameterPrefix: "/tokens"}); err != nil || len(ps) != 2 {
		t.Fatalf("Load = %d profiles, %v; want 2, nil", len(ps), err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), Options{}); err == nil || !strings.Contains(err.Error(), "read profiles document") {
		t.Fatalf("Load(missing) = %v; want a read error", err)
	}
}
