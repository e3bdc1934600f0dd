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
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/urlpolicy"
	"github.com/m2mtokens/oauth-token-rotator/internal/version"
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

// Client sends token requests. The zero value works.
type Client struct {
	// HTTP sends the requests. Nil means a client with TLS 1.2+ that never
	// follows redirects. A non-nil client's CheckRedirect is overridden per
	// request for the same reason.
	HTTP *http.Client
	// UserAgent is sent on every request; empty means
	// version.UserAgent("rotator").
	UserAgent string
	// MaxAttempts bounds the requests per Fetch (default 4).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the exponential backoff (defaults
	// 500ms and 8s); each wait is drawn uniformly from [0, backoff].
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured (default 30s); a
	// longer one ends the Fetch with a retryable error.
	MaxRetryAfter time.Duration
	// RequestTimeout bounds each attempt (default 10s).
	RequestTimeout time.Duration
	// MaxResponseBytes caps the answer's body (default 64 KiB).
	MaxResponseBytes int64
	// MaxLifetime is the largest expires_in accepted (default 366 days).
	MaxLifetime time.Duration
	// Sleep waits between attempts; nil means a timer that stops when ctx
	// ends. Tests inject a recorder.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for Retry-After dates; nil means time.Now.
	Now func() time.Time
	// Rand returns a number in [0,1) for jitter; nil means math/rand/v2.
	Rand func() float64
}

var defaultHTTP = &http.Client{
	Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 16, // the rotator's default concurrency: reuse TLS connections in a run
		IdleConnTimeout:     30 * time.Second,
	},
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Fetch requests a token, retrying transient failures, and validates the
// answer. The returned error is *Error for endpoint failures.
func (c *Client) Fetch(ctx context.Context, r Request) (Token, error) {
	if err := urlpolicy.Check(r.TokenURL); err != nil {
		return Token{}, &Error{Err: fmt.Errorf("%w: %v", ErrInsecureURL, err)}
	}
	body, contentType, err := encodeBody(r)
	if err != nil {
		return Token{}, &Error{Err: err}
	}
	hc := c.httpClient()
	maxAttempts := orInt(c.MaxAttempts, DefaultMaxAttempts)
	var last *Error
	for attempt := 1; ; attempt++ {
		tok, retryAfter, ferr := c.once(ctx, hc, r, body, contentType)
		if ferr == nil {
			return tok, nil
		}
		ferr.Attempts = attempt
		ferr.redact(r.ClientSecret)
		last = ferr
		if !ferr.Retryable || attempt >= maxAttempts || ctx.Err() != nil {
			return Token{}, last
		}
		wait := c.backoff(attempt)
		if retryAfter > 0 {
			if retryAfter > orDur(c.MaxRetryAfter, DefaultMaxRetryAfter) {
				ferr.Err = errors.Join(ferr.Err, fmt.Errorf("Retry-After %s exceeds the %s this run may wait", retryAfter, orDur(c.MaxRetryAfter, DefaultMaxRetryAfter)))
				return Token{}, last
			}
			wait = max(wait, retryAfter)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			ferr.Err = errors.Join(ferr.Err, errors.New("no time left in this run to retry"))
			return Token{}, last
		}
		if err := c.sleep(ctx, wait); err != nil {
			return Token{}, last
		}
	}
}

// once sends one request. It returns the Retry-After delay the server asked
// for, if any.
func (c *Client) once(ctx context.Context, hc *http.Client, r Request, body []byte, contentType string) (Token, time.Duration, *Error) {
	ctx, cancel := context.WithTimeout(ctx, orDur(c.RequestTimeout, DefaultRequestTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.TokenURL, bytes.NewReader(body))
	if err != nil {
		return Token{}, 0, &Error{Err: fmt.Errorf("build request: %w", err)}
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("Content-Type", contentType)
	ua := c.UserAgent
	if ua == "" {
		ua = version.UserAgent("rotator")
	}
	req.Header.Set("User-Agent", ua)

	resp, err := hc.Do(req)
	if err != nil {
		return Token{}, 0, &Error{Err: describeTransportError(err), Retryable: transportRetryable(err)}
	}
	defer resp.Body.Close()
	limit := orInt64(c.MaxResponseBytes, DefaultMaxResponseBytes)
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	status := resp.StatusCode

	switch {
	case status >= 300 && status < 400:
		loc := resp.Header.Get("Location")
		return Token{}, 0, &Error{StatusCode: status, Err: fmt.Errorf("%w (Location %s)", ErrRedirect, redactURL(loc))}
	case status == http.StatusTooManyRequests || status >= 500:
		e := &Error{StatusCode: status, Retryable: true}
		e.Code, e.Description = oauthError(data)
		return Token{}, c.retryAfter(resp.Header.Get("Retry-After")), e
	case status != http.StatusOK:
		e := &Error{StatusCode: status}
		e.Code, e.Description = oauthError(data)
		return Token{}, 0, e
	}
	if rerr != nil {
		return Token{}, 0, &Error{StatusCode: status, Retryable: true, Err: fmt.Errorf("read response: %w", describeTransportError(rerr))}
	}
	if int64(len(data)) > limit {
		return Token{}, 0, &Error{StatusCode: status, Err: fmt.Errorf("%w: body exceeds %d bytes", ErrInvalidResponse, limit)}
	}
	tok, verr := c.parseToken(data, resp.Header.Get("Content-Type"))
	if verr != nil {
		return Token{}, 0, &Error{StatusCode: status, Err: verr}
	}
	return tok, 0, nil
}

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

func encodeBody(r Request) ([]byte, string, error) {
	fields := map[string]string{}
	for k, v := range r.Params {
		fields[k] = v
	}
	fields["grant_type"] = "client_credentials"
	fields["client_id"] = r.ClientID
	fields["client_secret"] = r.ClientSecret
	if r.Audience != "" {
		fields["audience"] = r.Audience
	}
	if r.Scope != "" {
		fields["scope"] = r.Scope
	}
	if r.Form {
		v := url.Values{}
		for k, val := range fields {
			v.Set(k, val)
		}
		return []byte(v.Encode()), "application/x-www-form-urlencoded", nil
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, "", fmt.Errorf("encode body: %w", err)
	}
	return b, "application/json", nil
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

func (c *Client) retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(h, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// A delay too large for a Duration (or for uint64) is simply longer
		// than any run may wait.
		if err != nil || secs > uint64(math.MaxInt64/int64(time.Second)) {
			return math.MaxInt64
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		if d := t.Sub(now()); d > 0 {
			return d
		}
	}
	return 0
}

func (c *Client) backoff(attempt int) time.Duration {
	base := orDur(c.BaseBackoff, DefaultBaseBackoff)
	maxB := orDur(c.MaxBackoff, DefaultMaxBackoff)
	d := maxB
	if attempt < 31 {
		d = min(maxB, base<<(attempt-1))
	}
	r := rand.Float64
	if c.Rand != nil {
		r = c.Rand
	}
	return time.Duration(r() * float64(d))
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) httpClient() *http.Client {
	base := c.HTTP
	if base == nil {
		base = defaultHTTP
	}
	hc := *base
	hc.CheckRedirect = noRedirect
	return &hc
}

// transportRetryable: network trouble is transient; certificate problems
// and a cancelled run are not.
func transportRetryable(err error) bool {
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	var cve *tls.CertificateVerificationError
	switch {
	case errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie), errors.As(err, &cve):
		return false
	case errors.Is(err, context.Canceled):
		return false
	}
	return true
}

// describeTransportError drops the *url.Error wrapper, whose text repeats
// the URL, and keeps the cause.
func describeTransportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// redact removes the client secret, whole or any piece of it, from
// everything the endpoint sent back (error code, description, and the
// Location, Content-Type, token_type or expires_in an error quotes), then
// shortens the code and description. An endpoint that echoes the secret
// cannot put it into an error.
func (e *Error) redact(secret string) {
	e.Code = truncate(scrub(e.Code, secret), 64)
	e.Description = truncate(scrub(e.Description, secret), 200)
	if e.Err != nil {
		if msg := e.Err.Error(); scrub(msg, secret) != msg {
			e.Err = &scrubbed{msg: scrub(msg, secret), err: e.Err}
		}
	}
}

// scrubbed is an error whose text had the client secret removed. It unwraps
// to the original, so errors.Is and errors.As still see the cause.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// scrubPiece is the length of the pieces of a secret scrub removes: the
// same pieces leakcheck looks for in every test's logs and errors
// (TestScrubPieceMatchesLeakcheck keeps the two equal; leakcheck is a test
// helper and is not linked into the rotator).
const scrubPiece = 8

// scrub replaces every occurrence in s of the secret, or of any scrubPiece
// bytes of it, with "[redacted]". A secret shorter than scrubPiece is
// removed only whole.
func scrub(s, secret string) string {
	if secret == "" || s == "" {
		return s
	}
	n := min(scrubPiece, len(secret))
	var hide []bool
	for i := 0; i+n <= len(secret); i++ {
		piece := secret[i : i+n]
		for from := 0; from < len(s); {
			j := strings.Index(s[from:], piece)
			if j < 0 {
				break
			}
			if hide == nil {
				hide = make([]bool, len(s))
			}
			for k := from + j; k < from+j+n; k++ {
				hide[k] = true
			}
			from += j + 1
		}
	}
	if hide == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !hide[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString("[redacted]")
		for i < len(s) && hide[i] {
			i++
		}
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func orInt(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func orInt64(v, d int64) int64 {
	if v > 0 {
		return v
	}
	return d
}

func orDur(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}
