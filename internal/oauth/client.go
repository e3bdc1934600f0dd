package oauth

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
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
	// RequestTimeout bounds each attempt (default 10s); an attempt starts
	// only when this much is left before the context's deadline.
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

// httpClient returns the client for one Fetch: the configured (or
// default) one that never follows redirects and, for tls_client_auth, a
// transport of its own presenting cert; done releases that transport's
// connections.
func (c *Client) httpClient(cert *tls.Certificate) (hc *http.Client, done func(), err error) {
	base := c.HTTP
	if base == nil {
		base = defaultHTTP
	}
	cp := *base
	cp.CheckRedirect = noRedirect
	if cert == nil {
		return &cp, func() {}, nil
	}
	rt := cp.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return nil, nil, fmt.Errorf("tls_client_auth needs an *http.Transport to present the certificate, not %T", rt)
	}
	t = t.Clone()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	}
	cfg.Certificates = nil
	// Always present the certificate, whatever CAs the server names: it may
	// be self-signed or issued by a CA the server does not list.
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	t.TLSClientConfig = cfg
	cp.Transport = t
	return &cp, t.CloseIdleConnections, nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
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
	case certificateAlert(err):
		return false
	}
	return true
}

// certificateAlert reports whether the server ended the TLS handshake with
// a certificate alert (certificate required, bad, unknown CA, expired…):
// the client certificate of tls_client_auth was refused, which a retry
// does not change.
func certificateAlert(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil && strings.Contains(oe.Err.Error(), "certificate")
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
func (c *Client) once(ctx context.Context, hc *http.Client, r Request, enc encoded) (Token, time.Duration, *Error) {
	ctx, cancel := context.WithTimeout(ctx, c.AttemptTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.TokenURL, bytes.NewReader(enc.body))
	if err != nil {
		return Token{}, 0, &Error{Err: fmt.Errorf("build request: %w", err)}
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("Content-Type", enc.contentType)
	if enc.authorization != "" {
		req.Header.Set("Authorization", enc.authorization)
	}
	ua := c.UserAgent
	if ua == "" {
		ua = version.UserAgent("rotator")
	}
	req.Header.Set("User-Agent", ua)

	sent := c.now()
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
		e := &Error{StatusCode: status, Challenge: challengeScheme(resp.Header.Get("WWW-Authenticate"))}
		e.Code, e.Description = oauthError(data)
		return Token{}, 0, e
	}
	if rerr != nil {
		return Token{}, 0, &Error{StatusCode: status, Retryable: true, Err: fmt.Errorf("read response: %w", describeTransportError(rerr))}
	}
	if int64(len(data)) > limit {
		return Token{}, 0, &Error{StatusCode: status, Err: fmt.Errorf("%w: body exceeds %d bytes", ErrInvalidResponse, limit)}
	}
	tok, verr := c.parseToken(data, resp.Header.Get("Content-Type"), sent, r.DefaultLifetime)
	if verr != nil {
		return Token{}, 0, &Error{StatusCode: status, Err: verr}
	}
	return tok, 0, nil
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
