package profile

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/urlpolicy"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// fuzzValue stands for a header value in fuzzed documents (headers may
// carry an API key). No piece of it occurs in this package's messages.
const fuzzValue = "Zk4Qm7Vx2Lp9Rt6WcN3b"

const fuzzDoc = `profiles:
  - name: aviv-caas-agency-42
    token_url: https://auth.api.aviv-group.com/oauth/token
    secret_id: oauth-clients/aviv
    audience: https://api.aviv-group.com/caas/v3
    params: {intermediary_id: agency-42}
    refresh_before: 15m
    headers:
      X-Api-Key: `

// FuzzParse feeds Parse documents of the form prefix + fuzzValue + suffix.
// It must not panic. An accepted document yields profiles that meet every
// rule (name, https token URL, secret, body, refresh_before, unique names
// and parameters). A refused one yields no profiles and errors that each
// name the problem (and, for a profile, its index and field), and never
// contain a piece of a header value.
func FuzzParse(f *testing.F) {
	for _, s := range [][2]string{
		{fuzzDoc, "\n"},
		{fuzzDoc, "\n    body: form\n    parameter: /custom/x\n  - name: partner\n    token_url: http://127.0.0.1:8080/t\n    secret_id: s\n"},
		{fuzzDoc, "\n    body: xml\n"},
		{fuzzDoc, "\n    refresh_before: -1m\n"},
		{fuzzDoc, "\n      Authorization: Bearer x\n"},
		{fuzzDoc, "\\r\\nInjected: yes\n"},
		{fuzzDoc + "\"", "\\r\\nInjected: yes\"\n"},
		{fuzzDoc, "\n    unknown_field: 1\n"},
		{fuzzDoc, "\n  - name: aviv-caas-agency-42\n    token_url: http://auth.example.com/t\n    secret_id: \"\"\n"},
		{fuzzDoc, "\n---\nprofiles: []\n"},
		{"profiles:\n  - name: ", "\n    token_url: https://x.example/t\n    secret_id: s\n"},
		{`{"profiles":[{"name":"p","token_url":"https://x.example/t","secret_id":"s","headers":{"X-Key":"`, `"}}]}`},
		{"profiles: ", "\n"},
		{fuzzDoc, "\n    auth: private_key_jwt\n    assertion_audience: https://a.example/\n    default_lifetime: 1h\n"},
		{fuzzDoc, "\n    auth: client_secret_basic\n    body: json\n"},
		{fuzzDoc, "\n    auth: tls_client_auth\n    default_lifetime: 0s\n"},
		{fuzzDoc, "\n    auth: none\n    assertion_audience: x\n"},
		{"", ""},
		{"&a [*a, *a, *a, *a, *a, *a, *a, *a, *a] ", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, prefix, suffix string) {
		doc := []byte(prefix + fuzzValue + suffix)
		ps, err := Parse(doc, Options{})
		if err == nil {
			checkProfiles(t, doc, ps)
			return
		}
		if ps != nil {
			t.Fatalf("Parse(%q) returned %d profiles with error %v; want none", doc, len(ps), err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "profile: ") {
			t.Fatalf("Parse(%q) = %q; want it to start with \"profile: \"", doc, msg)
		}
		for _, e := range leaves(err) {
			var pe *Error
			if !errors.As(e, &pe) || pe.Problem == "" || (pe.Index >= 0 && pe.Field == "") {
				t.Fatalf("Parse(%q): %#v is not an *Error naming the field and the problem", doc, e)
			}
		}
		if _, copied := leakcheck.Find(prefix+suffix, fuzzValue); copied || !inHeaderValue(doc) {
			return // fuzzValue is not only a header value: other fields are quoted
		}
		if piece, found := leakcheck.Find(msg, fuzzValue); found {
			t.Errorf("Parse(%q) = %q; it contains %q, a piece of a header value", doc, msg, piece)
		}
	})
}

func checkProfiles(t *testing.T, doc []byte, ps []Profile) {
	t.Helper()
	if len(ps) == 0 {
		t.Fatalf("Parse(%q) accepted a document without profiles", doc)
	}
	names, params := map[string]bool{}, map[string]bool{}
	for _, p := range ps {
		switch {
		case tokenrecord.CheckProfileName(p.Name) != nil || names[p.Name]:
			t.Fatalf("Parse(%q) accepted name %q", doc, p.Name)
		case urlpolicy.Check(p.TokenURL) != nil:
			t.Fatalf("Parse(%q) accepted token_url %q", doc, p.TokenURL)
		case p.SecretID == "":
			t.Fatalf("Parse(%q) accepted an empty secret_id", doc)
		case p.Body != BodyJSON && p.Body != BodyForm:
			t.Fatalf("Parse(%q) accepted body %q", doc, p.Body)
		case p.RefreshBefore <= 0:
			t.Fatalf("Parse(%q) accepted refresh_before %v", doc, p.RefreshBefore)
		case !slices.Contains(Auths, p.Auth):
			t.Fatalf("Parse(%q) accepted auth %q", doc, p.Auth)
		case p.DefaultLifetime < 0 || (p.AssertionAudience != "" && p.Auth != AuthPrivateKeyJWT):
			t.Fatalf("Parse(%q) accepted default_lifetime %v, assertion_audience %q with auth %q", doc, p.DefaultLifetime, p.AssertionAudience, p.Auth)
		case !strings.HasPrefix(p.Parameter, "/") || params[p.Parameter]:
			t.Fatalf("Parse(%q) accepted parameter %q", doc, p.Parameter)
		}
		for k, v := range p.Headers {
			if reservedHeaders[k] || !headerRE.MatchString(k) || strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("Parse(%q) accepted header %q", doc, k)
			}
		}
		for k := range p.Params {
			if k == "" || reservedParams[k] {
				t.Fatalf("Parse(%q) accepted param %q", doc, k)
			}
		}
		names[p.Name], params[p.Parameter] = true, true
	}
}

// leaves returns the errors joined in err (err itself when it joins none).
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// inHeaderValue reports whether doc decodes to profiles one of whose
// header values holds fuzzValue.
func inHeaderValue(doc []byte) bool {
	var d struct {
		Profiles []struct {
			Headers map[string]any `yaml:"headers"`
		} `yaml:"profiles"`
	}
	if yaml.Unmarshal(doc, &d) != nil {
		return false
	}
	for _, p := range d.Profiles {
		for _, v := range p.Headers {
			if s, ok := v.(string); ok && strings.Contains(s, fuzzValue) {
				return true
			}
		}
	}
	return false
}
