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
	"net/http"
	"net/url"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/version"
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
