package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/urlpolicy"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
	"gopkg.in/yaml.v3"
)

// Load reads and parses the profiles document at path.
func Load(path string, opts Options) ([]Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: read profiles document: %w", err)
	}
	ps, err := Parse(data, opts)
	if err != nil {
		return nil, fmt.Errorf("profile: %s is invalid: %w", path, err)
	}
	return ps, nil
}

// Parse parses and validates a profiles document. On any problem it returns
// no profiles and an error joining one *Error per problem.
func Parse(data []byte, opts Options) ([]Profile, error) {
	doc, err := decodeDocument(data)
	if err != nil {
		return nil, err
	}
	c := checker{opts: opts, names: map[string]int{}, params: map[string]string{}}
	out := make([]Profile, 0, len(doc.Profiles))
	for i, rp := range doc.Profiles {
		out = append(out, c.profile(i, rp))
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return out, nil
}

// decodeDocument reads exactly one YAML document with at least one profile
// and no unknown fields.
func decodeDocument(data []byte) (rawDocument, error) {
	var doc rawDocument
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return doc, &Error{Index: -1, Field: "profiles", Problem: "the document is empty"}
		}
		return doc, &Error{Index: -1, Problem: "not a valid profiles document: " + yamlProblem(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return doc, &Error{Index: -1, Problem: "more than one YAML document in the file"}
	}
	if len(doc.Profiles) == 0 {
		return doc, &Error{Index: -1, Field: "profiles", Problem: "at least one profile is required"}
	}
	return doc, nil
}

// checker validates the profiles of one document, collecting every problem
// and the names and parameters already used.
type checker struct {
	opts   Options
	errs   []error
	names  map[string]int    // profile name -> index
	params map[string]string // parameter -> profile name
	// i and name locate the profile being checked, for add.
	i    int
	name string
}

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, &Error{Index: c.i, Profile: c.name, Field: field, Problem: fmt.Sprintf(format, args...)})
}

// profile checks one raw profile and returns it with its defaults.
func (c *checker) profile(i int, rp rawProfile) Profile {
	c.i, c.name = i, ""
	p := Profile{
		Name:              rp.Name,
		TokenURL:          strings.TrimSpace(rp.TokenURL),
		SecretID:          strings.TrimSpace(rp.SecretID),
		Audience:          rp.Audience,
		Scope:             rp.Scope,
		Params:            rp.Params,
		Headers:           canonicalHeaders(rp.Headers),
		AssertionAudience: strings.TrimSpace(rp.AssertionAudience),
	}
	c.checkName(rp.Name)
	if err := urlpolicy.Check(p.TokenURL); err != nil {
		c.add("token_url", "%v", err)
	}
	if p.SecretID == "" {
		c.add("secret_id", "is required")
	}
	c.checkParams(p.Params)
	c.checkHeaders(rp.Headers, p.Headers)
	p.Auth = c.auth(rp.Auth)
	p.Body = c.body(rp.Body, p.Auth)
	c.checkAuthFields(p)
	p.RefreshBefore = c.duration("refresh_before", rp.RefreshBefore, DefaultRefreshBefore, "15m or 1h")
	p.DefaultLifetime = c.duration("default_lifetime", rp.DefaultLifetime, 0, "1h or 24h")
	p.Parameter = c.parameter(rp.Parameter)
	return p
}

// checkName checks the profile's name and that it is unique; from then on
// add names the profile.
func (c *checker) checkName(name string) {
	switch err := tokenrecord.CheckProfileName(name); {
	case name == "":
		c.add("name", "is required")
		return
	case err != nil:
		c.name = name
		c.add("name", "%v", err)
		return
	}
	c.name = name
	if j, dup := c.names[name]; dup {
		c.add("name", "duplicates profiles[%d]", j)
	}
	c.names[name] = c.i
}

func (c *checker) checkParams(params map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if k == "" {
			c.add("params", "has an empty field name")
		} else if reservedParams[k] {
			c.add("params."+k, "is set by the rotator and may not be overridden")
		}
	}
}

func (c *checker) checkHeaders(raw, canonical map[string]string) {
	for _, dup := range duplicateHeaders(raw) {
		c.add("headers."+dup, "is given more than once (header names are case-insensitive)")
	}
	for _, k := range slices.Sorted(maps.Keys(canonical)) {
		v := canonical[k]
		switch {
		case !headerRE.MatchString(k):
			c.add("headers."+k, "is not a valid header name")
		case reservedHeaders[k]:
			if k == "Authorization" {
				c.add("headers."+k, "may not be set by a profile; for HTTP Basic client authentication set auth: client_secret_basic")
			} else {
				c.add("headers."+k, "may not be set by a profile")
			}
		case strings.ContainsAny(v, "\r\n\x00"):
			c.add("headers."+k, "value contains a line break or NUL")
		}
	}
}

// auth returns the profile's client authentication method.
func (c *checker) auth(raw string) Auth {
	a := Auth(strings.TrimSpace(raw))
	if a == "" {
		return AuthClientSecretPost
	}
	if !slices.Contains(Auths, a) {
		c.add("auth", "must be one of %s, not %q", authList(), raw)
		return AuthClientSecretPost
	}
	return a
}

// body returns the body encoding: the profile's, else json for
// client_secret_post and form for the methods the RFCs define with forms.
func (c *checker) body(raw string, auth Auth) Body {
	switch b := Body(raw); b {
	case "":
		if auth == AuthClientSecretPost {
			return BodyJSON
		}
		return BodyForm
	case BodyJSON, BodyForm:
		return b
	default:
		c.add("body", "must be json or form, not %q", raw)
		return BodyJSON
	}
}

// checkAuthFields checks the fields that depend on auth.
func (c *checker) checkAuthFields(p Profile) {
	if p.AssertionAudience != "" && p.Auth != AuthPrivateKeyJWT {
		c.add("assertion_audience", "applies only to auth: private_key_jwt (this profile uses %s)", p.Auth)
	}
	if p.Auth == AuthTLSClientAuth && strings.HasPrefix(strings.ToLower(p.TokenURL), "http:") {
		c.add("auth", "tls_client_auth presents the client certificate in TLS, so token_url must be https")
	}
}

// duration parses an optional positive duration field; example shows the
// expected form in errors.
func (c *checker) duration(field, raw string, def time.Duration, example string) time.Duration {
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	switch {
	case err != nil:
		c.add(field, "%q is not a duration such as %s", raw, example)
	case d <= 0:
		c.add(field, "must be positive, not %s", raw)
	default:
		return d
	}
	return def
}

// parameter returns the SSM parameter of the profile: its own, checked to be
// under the token prefix, or the default one; each may serve one profile.
func (c *checker) parameter(raw string) string {
	param := raw
	if raw != "" {
		prefix := strings.TrimSuffix(tokenrecord.ParameterName(c.opts.ParameterPrefix, "x"), "x")
		switch {
		case !parameterRE.MatchString(raw) || strings.Contains(raw, "//") || strings.HasSuffix(raw, "/"):
			c.add("parameter", "must be an SSM parameter path such as %sname", prefix)
		case !strings.HasPrefix(raw, prefix):
			c.add("parameter", "%s is outside the token prefix %s, where the rotator may write", raw, prefix)
		case strings.HasSuffix(raw, tokenrecord.LeaseSuffix):
			c.add("parameter", "may not end in %q, which names the rotator's lease parameters", tokenrecord.LeaseSuffix)
		}
	} else if c.name != "" {
		param = tokenrecord.ParameterName(c.opts.ParameterPrefix, c.name)
	}
	if param != "" {
		if other, dup := c.params[param]; dup && other != c.name {
			c.add("parameter", "%s is already used by profile %q", param, other)
		}
		c.params[param] = c.name
	}
	return param
}

func authList() string {
	s := make([]string, len(Auths))
	for i, a := range Auths {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

func canonicalHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if headerRE.MatchString(k) {
			k = http.CanonicalHeaderKey(k)
		}
		out[k] = v
	}
	return out
}

// duplicateHeaders returns the canonical names given more than once in h
// under different spellings ("accept" and "Accept").
func duplicateHeaders(h map[string]string) []string {
	seen := map[string]int{}
	for k := range h {
		seen[http.CanonicalHeaderKey(k)]++
	}
	var dups []string
	for k, n := range seen {
		if n > 1 {
			dups = append(dups, k)
		}
	}
	sort.Strings(dups)
	return dups
}

// yamlProblem renders a YAML error without quoting long input.
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// Names returns the profiles' names in document order.
func Names(ps []Profile) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}
