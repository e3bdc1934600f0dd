// Package profile parses and validates the profiles document: the list of
// tokens the rotator keeps, one profile per token.
//
// A profile is data, not code: one credential pair (a Secrets Manager
// secret), one token endpoint, one audience and one set of extra body
// fields and headers. The document is YAML (JSON is accepted, being YAML):
//
//	profiles:
//	  - name: aviv-caas-agency-42
//	    token_url: https://auth.api.aviv-group.com/oauth/token
//	    secret_id: oauth-clients/aviv
//	    audience: https://api.aviv-group.com/caas/v3
//	    params: {intermediary_id: agency-42}
//
// An invalid document is refused as a whole: Parse returns no profiles and
// an error listing every problem, each naming the profile and the field.
// The package does no I/O beyond Load reading the file. Parsed profiles are
// values safe to share between goroutines as long as nobody mutates their
// maps.
package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/m2mtokens/oauth-token-rotator/internal/urlpolicy"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// Body is how the token request body is encoded.
type Body string

// The body encodings a profile may ask for.
const (
	BodyJSON Body = "json" // application/json (the default)
	BodyForm Body = "form" // application/x-www-form-urlencoded
)

// DefaultRefreshBefore is how long before expiry a token is refreshed when
// the profile does not say.
const DefaultRefreshBefore = 15 * time.Minute

// Profile is one token the rotator keeps.
type Profile struct {
	// Name identifies the profile: letters, digits, '.', '_' and '-'.
	Name string
	// TokenURL is the token endpoint; https, or http for loopback hosts.
	TokenURL string
	// SecretID names the Secrets Manager secret holding client_id and
	// client_secret (a name or an ARN). Several profiles may share one.
	SecretID string
	// Audience is sent as "audience" when not empty.
	Audience string
	// Scope is sent as "scope" when not empty.
	Scope string
	// Params are extra body fields, such as AVIV's intermediary_id.
	Params map[string]string
	// Headers are extra request headers, such as Accept: application/json.
	Headers map[string]string
	// Body is the request encoding, BodyJSON unless the profile says form.
	Body Body
	// RefreshBefore is how long before expires_at the token is refreshed.
	RefreshBefore time.Duration
	// Parameter is the SSM parameter that holds the token record.
	Parameter string
}

// Options change how a document is read.
type Options struct {
	// ParameterPrefix is the prefix of default parameter names; empty means
	// tokenrecord.DefaultPrefix.
	ParameterPrefix string
}

var (
	parameterRE = regexp.MustCompile(`^/[A-Za-z0-9._/-]+$`)
	headerRE    = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")
)

// reservedParams are body fields the rotator sets itself.
var reservedParams = map[string]bool{
	"grant_type": true, "client_id": true, "client_secret": true, "audience": true, "scope": true,
}

// reservedHeaders are headers a profile may not set: the transport owns
// them, or they would put a credential into configuration.
var reservedHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true,
	"Content-Type": true, "Content-Length": true, "Host": true, "User-Agent": true,
	// hop-by-hop headers
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// rawDocument mirrors the YAML; unknown fields are refused.
type rawDocument struct {
	Profiles []rawProfile `yaml:"profiles"`
}

type rawProfile struct {
	Name          string            `yaml:"name"`
	TokenURL      string            `yaml:"token_url"`
	SecretID      string            `yaml:"secret_id"`
	Audience      string            `yaml:"audience"`
	Params        map[string]string `yaml:"params"`
	Headers       map[string]string `yaml:"headers"`
	Scope         string            `yaml:"scope"`
	Body          string            `yaml:"body"`
	RefreshBefore string            `yaml:"refresh_before"`
	Parameter     string            `yaml:"parameter"`
}

// Error is one problem in a profiles document.
type Error struct {
	// Index is the profile's position in the list (from 0), or -1 for the
	// document itself.
	Index int
	// Profile is the profile's name, when it has one.
	Profile string
	// Field is the document field at fault, such as "token_url".
	Field string
	// Problem says what is wrong.
	Problem string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("profile: ")
	switch {
	case e.Index < 0:
	case e.Profile != "":
		fmt.Fprintf(&b, "profile %q (profiles[%d]): ", e.Profile, e.Index)
	default:
		fmt.Fprintf(&b, "profiles[%d]: ", e.Index)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %s: ", e.Field)
	}
	b.WriteString(e.Problem)
	return b.String()
}

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
	var doc rawDocument
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Index: -1, Field: "profiles", Problem: "the document is empty"}
		}
		return nil, &Error{Index: -1, Problem: "not a valid profiles document: " + yamlProblem(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{Index: -1, Problem: "more than one YAML document in the file"}
	}
	if len(doc.Profiles) == 0 {
		return nil, &Error{Index: -1, Field: "profiles", Problem: "at least one profile is required"}
	}

	var errs []error
	add := func(i int, name, field, format string, args ...any) {
		errs = append(errs, &Error{Index: i, Profile: name, Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	names := map[string]int{}
	params := map[string]string{}
	out := make([]Profile, 0, len(doc.Profiles))
	for i, rp := range doc.Profiles {
		p := Profile{
			Name:     rp.Name,
			TokenURL: strings.TrimSpace(rp.TokenURL),
			SecretID: strings.TrimSpace(rp.SecretID),
			Audience: rp.Audience,
			Scope:    rp.Scope,
			Params:   rp.Params,
			Headers:  canonicalHeaders(rp.Headers),
			Body:     Body(rp.Body),
		}
		name := rp.Name
		switch err := tokenrecord.CheckProfileName(name); {
		case name == "":
			add(i, "", "name", "is required")
		case err != nil:
			add(i, name, "name", "%v", err)
		default:
			if j, dup := names[name]; dup {
				add(i, name, "name", "duplicates profiles[%d]", j)
			}
			names[name] = i
		}
		if err := urlpolicy.Check(p.TokenURL); err != nil {
			add(i, name, "token_url", "%v", err)
		}
		if p.SecretID == "" {
			add(i, name, "secret_id", "is required")
		}
		for k := range p.Params {
			if k == "" {
				add(i, name, "params", "has an empty field name")
			} else if reservedParams[k] {
				add(i, name, "params."+k, "is set by the rotator and may not be overridden")
			}
		}
		for _, dup := range duplicateHeaders(rp.Headers) {
			add(i, name, "headers."+dup, "is given more than once (header names are case-insensitive)")
		}
		for k, v := range p.Headers {
			switch {
			case !headerRE.MatchString(k):
				add(i, name, "headers."+k, "is not a valid header name")
			case reservedHeaders[k]:
				add(i, name, "headers."+k, "may not be set by a profile")
			case strings.ContainsAny(v, "\r\n\x00"):
				add(i, name, "headers."+k, "value contains a line break or NUL")
			}
		}
		switch p.Body {
		case "":
			p.Body = BodyJSON
		case BodyJSON, BodyForm:
		default:
			add(i, name, "body", "must be json or form, not %q", rp.Body)
		}
		p.RefreshBefore = DefaultRefreshBefore
		if rp.RefreshBefore != "" {
			d, err := time.ParseDuration(rp.RefreshBefore)
			switch {
			case err != nil:
				add(i, name, "refresh_before", "%q is not a duration such as 15m or 1h", rp.RefreshBefore)
			case d <= 0:
				add(i, name, "refresh_before", "must be positive, not %s", rp.RefreshBefore)
			default:
				p.RefreshBefore = d
			}
		}
		if rp.Parameter != "" {
			prefix := strings.TrimSuffix(tokenrecord.ParameterName(opts.ParameterPrefix, "x"), "x")
			switch {
			case !parameterRE.MatchString(rp.Parameter) || strings.Contains(rp.Parameter, "//") || strings.HasSuffix(rp.Parameter, "/"):
				add(i, name, "parameter", "must be an SSM parameter path such as %sname", prefix)
			case !strings.HasPrefix(rp.Parameter, prefix):
				add(i, name, "parameter", "%s is outside the token prefix %s, where the rotator may write", rp.Parameter, prefix)
			case strings.HasSuffix(rp.Parameter, tokenrecord.LeaseSuffix):
				add(i, name, "parameter", "may not end in %q, which names the rotator's lease parameters", tokenrecord.LeaseSuffix)
			}
			p.Parameter = rp.Parameter
		} else if name != "" {
			p.Parameter = tokenrecord.ParameterName(opts.ParameterPrefix, name)
		}
		if p.Parameter != "" {
			if other, dup := params[p.Parameter]; dup && other != name {
				add(i, name, "parameter", "%s is already used by profile %q", p.Parameter, other)
			}
			params[p.Parameter] = name
		}
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
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
