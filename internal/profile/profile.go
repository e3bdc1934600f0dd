package profile

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Body is how the token request body is encoded.
type Body string

// The body encodings a profile may ask for.
const (
	BodyJSON Body = "json" // application/json (the default)
	BodyForm Body = "form" // application/x-www-form-urlencoded
)

// Auth is the token endpoint client authentication method, named as in
// RFC 7591 token_endpoint_auth_method.
type Auth string

// The client authentication methods a profile may ask for.
const (
	// AuthClientSecretPost sends client_id and client_secret in the body
	// (the default).
	AuthClientSecretPost Auth = "client_secret_post"
	// AuthClientSecretBasic sends them in Authorization: Basic, each
	// form-urlencoded first (RFC 6749 section 2.3.1), and not in the body.
	AuthClientSecretBasic Auth = "client_secret_basic"
	// AuthPrivateKeyJWT sends a client_assertion signed with the client's
	// private key (RFC 7523 section 2.2).
	AuthPrivateKeyJWT Auth = "private_key_jwt"
	// AuthTLSClientAuth presents the client's certificate in the TLS
	// handshake and client_id in the body (RFC 8705 section 2.1).
	AuthTLSClientAuth Auth = "tls_client_auth"
)

// Auths lists every method, the default first.
var Auths = []Auth{AuthClientSecretPost, AuthClientSecretBasic, AuthPrivateKeyJWT, AuthTLSClientAuth}

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
	// Body is the request encoding: what the profile says, else BodyJSON
	// for AuthClientSecretPost and BodyForm for the other methods.
	Body Body
	// Auth is the client authentication method, AuthClientSecretPost
	// unless the profile says otherwise.
	Auth Auth
	// AssertionAudience is the aud of a private_key_jwt client assertion;
	// empty means TokenURL.
	AssertionAudience string
	// DefaultLifetime is the token lifetime assumed when an answer has
	// neither expires_in nor a JWT exp; 0 means such an answer is refused.
	DefaultLifetime time.Duration
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
	"client_assertion": true, "client_assertion_type": true,
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
	Name              string            `yaml:"name"`
	TokenURL          string            `yaml:"token_url"`
	SecretID          string            `yaml:"secret_id"`
	Audience          string            `yaml:"audience"`
	Params            map[string]string `yaml:"params"`
	Headers           map[string]string `yaml:"headers"`
	Scope             string            `yaml:"scope"`
	Body              string            `yaml:"body"`
	Auth              string            `yaml:"auth"`
	AssertionAudience string            `yaml:"assertion_audience"`
	DefaultLifetime   string            `yaml:"default_lifetime"`
	RefreshBefore     string            `yaml:"refresh_before"`
	Parameter         string            `yaml:"parameter"`
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

// Error names the profile (and its index in the document) and the field,
// then says what is wrong.
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
