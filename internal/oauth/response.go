package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"strconv"
	"strings"
	"time"
)

// tokenResponse is the wire answer; expires_in may be a number or a string.
type tokenResponse struct {
	AccessToken *string         `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
}

// parseToken validates an answer to a request sent at sent; def is the
// profile's default_lifetime.
func (c *Client) parseToken(data []byte, contentType string, sent time.Time, def time.Duration) (Token, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Token{}, fmt.Errorf("%w: empty body", ErrInvalidResponse)
	}
	var tr tokenResponse
	if err := json.Unmarshal(data, &tr); err != nil {
		mt, _, _ := mime.ParseMediaType(contentType)
		if mt == "" {
			mt = "none"
		}
		// The json error could quote the body, which may hold a token.
		return Token{}, fmt.Errorf("%w: body is not a JSON token response (content-type %s, %d bytes)", ErrInvalidResponse, mt, len(data))
	}
	switch {
	case tr.AccessToken == nil:
		return Token{}, fmt.Errorf("%w: access_token is missing", ErrInvalidResponse)
	case *tr.AccessToken == "":
		return Token{}, fmt.Errorf("%w: access_token is empty", ErrInvalidResponse)
	case strings.ContainsFunc(*tr.AccessToken, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return Token{}, fmt.Errorf("%w: access_token contains white space or control characters", ErrInvalidResponse)
	}
	tokenType := tr.TokenType
	switch {
	case tokenType == "":
		tokenType = "Bearer" // RFC 6749 requires it; several servers omit it.
	case !strings.EqualFold(tokenType, "Bearer"):
		return Token{}, fmt.Errorf("%w: token_type %q is not Bearer; consumers send tokens as Bearer", ErrInvalidResponse, truncate(tokenType, 32))
	}
	life, source, err := c.lifetime(tr.ExpiresIn, *tr.AccessToken, sent, def)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	return Token{AccessToken: *tr.AccessToken, TokenType: tokenType, ExpiresIn: life, ExpirySource: source}, nil
}

// errNoExpiresIn: the answer has no expires_in (RFC 6749 only recommends
// it).
var errNoExpiresIn = errors.New("expires_in is missing")

// lifetime is the token's lifetime from sent: expires_in; the JWT exp of
// the access token when it has one (the earlier of the two when both);
// else the default lifetime; else an error naming both options.
func (c *Client) lifetime(raw json.RawMessage, accessToken string, sent time.Time, def time.Duration) (time.Duration, string, error) {
	maxL := orDur(c.MaxLifetime, DefaultMaxLifetime)
	fromAnswer, err := parseExpiresIn(raw, maxL)
	if err != nil && !errors.Is(err, errNoExpiresIn) {
		return 0, "", err
	}
	if exp, ok := jwtExp(accessToken); ok {
		d := exp.Sub(sent).Truncate(time.Second)
		switch {
		case fromAnswer > 0 && fromAnswer <= d:
			return fromAnswer, "expires_in", nil
		case d < time.Second:
			return 0, "", errors.New("the access token's JWT exp is not after the moment the request was sent; check the clocks of the endpoint and of this host")
		case d > maxL:
			return 0, "", fmt.Errorf("the access token's JWT exp is more than the %s this rotator accepts", maxL)
		}
		return d, "jwt exp", nil
	}
	switch {
	case fromAnswer > 0:
		return fromAnswer, "expires_in", nil
	case def > 0:
		return def, "default_lifetime", nil
	}
	return 0, "", errors.New("expires_in is missing and the access token is not a JWT with exp; set the profile's default_lifetime (such as 1h) to the token lifetime the provider documents, or have the endpoint send expires_in")
}

// jwtExp returns the exp claim of a JWS compact access token. The token is
// decoded only for timing: its signature is not (and cannot be) verified,
// and nothing of it is logged.
func jwtExp(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil || math.IsNaN(*claims.Exp) || *claims.Exp <= 0 {
		return time.Time{}, false
	}
	const maxUnix = 1 << 40 // far beyond any lifetime accepted
	return time.Unix(int64(math.Min(math.Floor(*claims.Exp), maxUnix)), 0), true
}

// parseExpiresIn accepts a positive number of seconds as a JSON number or a
// numeric string; fractions are rounded down.
func parseExpiresIn(raw json.RawMessage, maxLifetime time.Duration) (time.Duration, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, errNoExpiresIn
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, errors.New("expires_in is not a number")
		}
		s = strings.TrimSpace(str)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("expires_in is not a number")
	}
	if f < 1 {
		return 0, fmt.Errorf("expires_in must be at least 1 second, got %s", truncate(s, 24))
	}
	if f > maxLifetime.Seconds() {
		return 0, fmt.Errorf("expires_in %s exceeds the %s this rotator accepts", truncate(s, 24), maxLifetime)
	}
	return time.Duration(math.Floor(f)) * time.Second, nil
}

// oauthError extracts RFC 6749 error fields from an error body; Error.redact
// scrubs and shortens them.
func oauthError(data []byte) (code, desc string) {
	var e struct {
		Error       any    `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"`
	}
	if json.Unmarshal(data, &e) != nil {
		return "", ""
	}
	if s, ok := e.Error.(string); ok {
		code = s
	}
	desc = e.Description
	if desc == "" {
		desc = e.Message
	}
	return code, desc
}
