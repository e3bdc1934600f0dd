package tokenrecord

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/redact"
)

// DefaultPrefix is the parameter prefix used when TOKEN_PARAMETER_PREFIX is
// not set.
const DefaultPrefix = "/oauth-tokens"

// Record is one stored token.
type Record struct {
	// AccessToken is the bearer token. It is never printed by String,
	// GoString, LogValue or any error of this package.
	AccessToken string `json:"access_token"`
	// TokenType is kept as the provider returned it (usually "Bearer").
	TokenType string `json:"token_type"`
	// ExpiresAt is when the token stops being valid, counted from the moment
	// the token request was sent, so never later than the provider's expiry.
	ExpiresAt time.Time `json:"expires_at"`
	// IssuedAt is when the token request was sent.
	IssuedAt time.Time `json:"issued_at"`
	// Profile is the name of the profile that produced the token.
	Profile string `json:"profile"`
	// Fingerprint identifies the request configuration (token URL, audience,
	// scope, params, client id) the token was issued for. It is a one-way
	// hash and never contains the client secret. Empty in records written by
	// other tools; the rotator treats such a record as due.
	Fingerprint string `json:"fingerprint,omitempty"`
	// SecretVersion is the Secrets Manager version (VersionId, not a
	// secret) of the credentials the token was requested with: a change
	// event whose secret still has that version as AWSCURRENT has no new
	// value to prove. Empty in records written before it existed or by
	// other tools.
	SecretVersion string `json:"secret_version,omitempty"`
}

// ErrInvalid is wrapped by every error Parse and Marshal return for a record
// that breaks the contract.
var ErrInvalid = errors.New("tokenrecord: invalid record")

// Marshal validates r and encodes it as the contract's JSON, with both
// times in UTC at whole seconds (expires_at rounded down, so it never moves
// later).
func Marshal(r Record) ([]byte, error) {
	r.ExpiresAt = r.ExpiresAt.UTC().Truncate(time.Second)
	r.IssuedAt = r.IssuedAt.UTC().Truncate(time.Second)
	if err := r.validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		// A time outside the years 0-9999 has no RFC 3339 form; the error
		// names the problem, never a field's value.
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return b, nil
}

func (r Record) validate() error {
	switch {
	case r.AccessToken == "":
		return fmt.Errorf("%w: access_token is empty", ErrInvalid)
	case strings.ContainsAny(r.AccessToken, " \t\r\n"):
		return fmt.Errorf("%w: access_token contains white space", ErrInvalid)
	case r.ExpiresAt.IsZero():
		return fmt.Errorf("%w: expires_at is missing", ErrInvalid)
	case r.IssuedAt.IsZero():
		return fmt.Errorf("%w: issued_at is missing", ErrInvalid)
	case r.ExpiresAt.Year() < 1 || r.IssuedAt.Year() < 1:
		return fmt.Errorf("%w: a time is before the year 0001", ErrInvalid)
	case !r.ExpiresAt.After(r.IssuedAt):
		return fmt.Errorf("%w: expires_at is not after issued_at", ErrInvalid)
	case r.Profile == "":
		return fmt.Errorf("%w: profile is empty", ErrInvalid)
	}
	return nil
}

// ValidAt reports whether the token may still be used at now with skew to
// spare: now + skew is before ExpiresAt.
func (r Record) ValidAt(now time.Time, skew time.Duration) bool {
	return r.AccessToken != "" && now.Add(skew).Before(r.ExpiresAt)
}

// Lifetime is ExpiresAt - IssuedAt.
func (r Record) Lifetime() time.Duration { return r.ExpiresAt.Sub(r.IssuedAt) }

// String describes the record without its token.
func (r Record) String() string {
	return fmt.Sprintf("tokenrecord.Record{profile=%q token_type=%q access_token=%s issued_at=%s expires_at=%s}",
		r.Profile, r.TokenType, redact.Secret(r.AccessToken), r.IssuedAt.Format(time.RFC3339), r.ExpiresAt.Format(time.RFC3339))
}

// GoString is String, so %#v does not print the token either.
func (r Record) GoString() string { return r.String() }

// LogValue implements slog.LogValuer without the token.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("profile", r.Profile),
		slog.String("token_type", r.TokenType),
		slog.Time("issued_at", r.IssuedAt),
		slog.Time("expires_at", r.ExpiresAt),
	)
}

// ParameterName returns the SSM parameter name of a profile's record:
// prefix + "/" + profile. An empty prefix means DefaultPrefix; a trailing
// slash on the prefix is dropped.
func ParameterName(prefix, profile string) string {
	prefix = strings.TrimRight(prefix, "/")
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	return prefix + "/" + profile
}
