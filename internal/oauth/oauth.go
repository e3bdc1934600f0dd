// Package oauth performs the OAuth 2.0 client_credentials exchange with any
// standard token endpoint: a JSON or form body with audience, scope and
// extra fields such as AVIV's intermediary_id, the profile's headers and a
// User-Agent naming this project.
//
// The client authenticates as the profile's auth says (RFC 7591 names):
//
//   - client_secret_post: client_id and client_secret in the body;
//   - client_secret_basic: Authorization: Basic with the id and secret each
//     form-urlencoded first (RFC 6749 section 2.3.1), not in the body;
//   - private_key_jwt: client_assertion_type and a client_assertion signed
//     with RS256, PS256 or ES256 (RFC 7523 section 2.2): iss = sub = client
//     id, aud = the token URL (or the profile's assertion_audience), a
//     unique jti, iat, nbf and an exp 2 minutes on, kid when the secret has
//     key_id, x5t and x5t#S256 (as Microsoft Entra ID wants) when it has a
//     certificate; a new assertion for every attempt;
//   - tls_client_auth: the client certificate in the TLS handshake and
//     client_id in the body (RFC 8705 section 2.1); https only.
//
// Fetch checks that the credentials have what the method needs before any
// request. Answers are validated: access_token must be non-empty,
// token_type Bearer (or absent, meaning Bearer). The lifetime is expires_in
// (a positive number or numeric string); when the access token is a JWT
// with exp (decoded for timing only, never verified or logged), the earlier
// of the two; with neither, Request.DefaultLifetime; with none, an error
// that names both options. Lifetimes count from when the request was sent.
// Anything else is an error, never a token.
//
// Network errors, 429 and 5xx answers are retried a bounded number of times
// with exponential backoff and full jitter, honouring Retry-After; other 4xx
// answers (invalid_client, invalid_request…) are not retried; their
// *Error names the auth method and body encoding used, the profile fields
// that change them and the scheme of any WWW-Authenticate challenge. Redirects are
// never followed: following one would resend the client secret. Responses
// are capped in size and every attempt has its own timeout.
//
// Errors from the token endpoint are *Error, matched with errors.As. No
// error, log line or String method of this package contains the client
// secret, the private key, a client assertion or the access token. A Client is safe for concurrent use.
package oauth

import (
	"crypto"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/redact"
)

// Defaults used where Client's fields are zero.
const (
	DefaultMaxAttempts      = 4
	DefaultBaseBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff       = 8 * time.Second
	DefaultMaxRetryAfter    = 30 * time.Second
	DefaultRequestTimeout   = 10 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultMaxLifetime      = 366 * 24 * time.Hour
)

// Request is one token request. NewRequest builds one from a profile and
// its credentials.
type Request struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Audience     string            // sent when not empty
	Scope        string            // sent when not empty
	Params       map[string]string // extra body fields
	Headers      map[string]string // extra headers (Accept…)
	Form         bool              // form body instead of JSON
	// Auth is the client authentication method; empty means
	// client_secret_post.
	Auth profile.Auth
	// SecretID names the credentials secret in errors.
	SecretID string
	// Key signs private_key_jwt client assertions with Algorithm (RS256,
	// PS256 or ES256; empty means RS256 for RSA keys, ES256 for EC keys);
	// KeyID, when set, is the assertion's kid.
	Key       crypto.Signer
	KeyID     string
	Algorithm string
	// AssertionAudience is the assertion's aud; empty means TokenURL.
	AssertionAudience string
	// Certificate is presented in the TLS handshake (tls_client_auth); for
	// private_key_jwt its thumbprints go into the assertion's header.
	Certificate *tls.Certificate
	// DefaultLifetime is the lifetime of a token whose answer has neither
	// expires_in nor a JWT exp; 0 refuses such an answer.
	DefaultLifetime time.Duration
}

// NewRequest builds the token request of profile p with credentials c.
func NewRequest(p profile.Profile, c clientcred.Credentials) Request {
	return Request{
		TokenURL: p.TokenURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		Audience: p.Audience, Scope: p.Scope, Params: p.Params, Headers: p.Headers, Form: p.Body == profile.BodyForm,
		Auth: p.Auth, SecretID: c.SecretID, Key: c.Signer(), KeyID: c.KeyID, Algorithm: c.Algorithm,
		AssertionAudience: p.AssertionAudience, Certificate: c.Certificate(), DefaultLifetime: p.DefaultLifetime,
	}
}

// String describes the request without the client secret or the key.
func (r Request) String() string {
	return fmt.Sprintf("oauth.Request{token_url=%q client_id=%q client_secret=%s audience=%q auth=%s}", r.TokenURL, r.ClientID, redact.Secret(r.ClientSecret), r.Audience, r.auth())
}

// GoString is String.
func (r Request) GoString() string { return r.String() }

// LogValue implements slog.LogValuer without the client secret or the key
// (slog's JSON handler would otherwise encode every field).
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token_url", r.TokenURL), slog.String("client_id", r.ClientID),
		slog.String("client_secret", redact.Secret(r.ClientSecret)), slog.String("audience", r.Audience), slog.String("auth", string(r.auth())))
}

func (r Request) auth() profile.Auth {
	if r.Auth == "" {
		return profile.AuthClientSecretPost
	}
	return r.Auth
}

func (r Request) body() string {
	if r.Form {
		return string(profile.BodyForm)
	}
	return string(profile.BodyJSON)
}

// Token is a validated answer.
type Token struct {
	AccessToken string
	TokenType   string
	// ExpiresIn is the lifetime counted from when the request was sent.
	ExpiresIn time.Duration
	// ExpirySource says where ExpiresIn came from: "expires_in", "jwt exp"
	// or "default_lifetime".
	ExpirySource string
}

// String describes the token without revealing it.
func (t Token) String() string {
	return fmt.Sprintf("oauth.Token{access_token=%s token_type=%q expires_in=%s}", redact.Secret(t.AccessToken), t.TokenType, t.ExpiresIn)
}

// GoString is String.
func (t Token) GoString() string { return t.String() }

// LogValue implements slog.LogValuer without the access token.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_token", redact.Secret(t.AccessToken)),
		slog.String("token_type", t.TokenType), slog.Duration("expires_in", t.ExpiresIn))
}
