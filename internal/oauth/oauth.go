// Package oauth performs the OAuth 2.0 client_credentials exchange the way
// the partner APIs expect it: a JSON body by default (form on request), with
// audience, scope and extra fields such as AVIV's intermediary_id, the
// profile's headers and a User-Agent naming this project.
//
// Answers are validated: access_token must be non-empty, expires_in a
// positive number (a numeric string is accepted), token_type Bearer (or
// absent, meaning Bearer). Anything else is an error, never a token.
//
// Network errors, 429 and 5xx answers are retried a bounded number of times
// with exponential backoff and full jitter, honouring Retry-After; other 4xx
// answers (invalid_client, invalid_request…) are not retried. Redirects are
// never followed: following one would resend the client secret. Responses
// are capped in size and every attempt has its own timeout.
//
// Errors from the token endpoint are *Error, matched with errors.As. No
// error, log line or String method of this package contains the client
// secret or the access token. A Client is safe for concurrent use.
package oauth

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
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

// Request is one token request.
type Request struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Audience     string            // sent when not empty
	Scope        string            // sent when not empty
	Params       map[string]string // extra body fields
	Headers      map[string]string // extra headers (Accept…)
	Form         bool              // form body instead of JSON
}

// String describes the request without the client secret.
func (r Request) String() string {
	return fmt.Sprintf("oauth.Request{token_url=%q client_id=%q client_secret=%s audience=%q}", r.TokenURL, r.ClientID, tokenrecord.Redacted(r.ClientSecret), r.Audience)
}

// GoString is String.
func (r Request) GoString() string { return r.String() }

// LogValue implements slog.LogValuer without the client secret (slog's
// JSON handler would otherwise encode every field).
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token_url", r.TokenURL), slog.String("client_id", r.ClientID),
		slog.String("client_secret", tokenrecord.Redacted(r.ClientSecret)), slog.String("audience", r.Audience))
}

// Token is a validated answer.
type Token struct {
	AccessToken string
	TokenType   string
	ExpiresIn   time.Duration
}

// String describes the token without revealing it.
func (t Token) String() string {
	return fmt.Sprintf("oauth.Token{access_token=%s token_type=%q expires_in=%s}", tokenrecord.Redacted(t.AccessToken), t.TokenType, t.ExpiresIn)
}

// GoString is String.
func (t Token) GoString() string { return t.String() }

// LogValue implements slog.LogValuer without the access token.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_token", tokenrecord.Redacted(t.AccessToken)),
		slog.String("token_type", t.TokenType), slog.Duration("expires_in", t.ExpiresIn))
}

// Error is a failed token request.
type Error struct {
	// StatusCode is the last HTTP status, or 0 when no answer came.
	StatusCode int
	// Code is the OAuth error code ("invalid_client"…), when the endpoint
	// sent one.
	Code string
	// Description is the endpoint's error_description, shortened, with the
	// client secret, whole or any 8-byte piece of it, removed.
	Description string
	// Attempts is how many requests were sent.
	Attempts int
	// Retryable reports whether the failure was transient (network, 429,
	// 5xx): a later run may succeed.
	Retryable bool
	// Err is the underlying cause.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("oauth: token request failed")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": status %d", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ", error %q", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, " (%s)", e.Description)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	fmt.Fprintf(&b, " after %d attempt(s)", e.Attempts)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinels wrapped by *Error.Err, matched with errors.Is.
var (
	ErrInvalidResponse = errors.New("invalid token response")
	ErrRedirect        = errors.New("token endpoint redirected; not followed, it would resend the client secret")
	ErrInsecureURL     = errors.New("token URL must use https (http only for loopback hosts)")
)
