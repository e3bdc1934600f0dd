package oauth

import (
	"bytes"
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

func (c *Client) parseToken(data []byte, contentType string) (Token, error) {
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
	exp, err := parseExpiresIn(tr.ExpiresIn, orDur(c.MaxLifetime, DefaultMaxLifetime))
	if err != nil {
		return Token{}, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	return Token{AccessToken: *tr.AccessToken, TokenType: tokenType, ExpiresIn: exp}, nil
}

// parseExpiresIn accepts a positive number of seconds as a JSON number or a
// numeric string; fractions are rounded down.
func parseExpiresIn(raw json.RawMessage, maxLifetime time.Duration) (time.Duration, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, errors.New("expires_in is missing")
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
