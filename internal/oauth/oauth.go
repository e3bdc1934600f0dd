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
	// Attempts is how many requests the Fetch sent, this answer's
	// included: more than one after a retry (a timeout, 429, 5xx), and any
	// of them may have made the provider issue a token.
	Attempts int
}

// String describes the token without revealing it.
func (t Token) String() string {
	return fmt.Sprintf("oauth.Token{access_token=%s token_type=%q expires_in=%s attempts=%d}", redact.Secret(t.AccessToken), t.TokenType, t.ExpiresIn, t.Attempts)
}

// GoString is String.
func (t Token) GoString() string { return t.String() }

// LogValue implements slog.LogValuer without the access token.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_token", redact.Secret(t.AccessToken)),
		slog.String("token_type", t.TokenType), slog.Duration("expires_in", t.ExpiresIn), slog.Int("attempts", t.Attempts))
}
