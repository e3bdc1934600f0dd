package oauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/urlpolicy"
)

// Fetch requests a token, retrying transient failures, and validates the
// answer. The returned error is *Error for endpoint failures. Token.Attempts
// and Error.Attempts say how many requests were sent. A request is
// sent only when a whole AttemptTimeout (after the wait, for a retry) fits
// before ctx's deadline: one cut off by the deadline may have been
// answered with a token the provider counts, which would be lost. With
// less time left than that for the first request, nothing is sent and the
// error wraps ErrNoTime.
func (c *Client) Fetch(ctx context.Context, r Request) (Token, error) {
	if err := urlpolicy.Check(r.TokenURL); err != nil {
		return Token{}, &Error{Err: fmt.Errorf("%w: %v", ErrInsecureURL, err)}
	}
	if err := r.check(); err != nil {
		return Token{}, &Error{Err: err}
	}
	var tlsCert *tls.Certificate // presented in TLS only for tls_client_auth
	if r.auth() == profile.AuthTLSClientAuth {
		tlsCert = r.Certificate
	}
	hc, done, err := c.httpClient(tlsCert)
	if err != nil {
		return Token{}, &Error{Err: err}
	}
	defer done()
	maxAttempts := orInt(c.MaxAttempts, DefaultMaxAttempts)
	timeout := c.AttemptTimeout()
	if left, ok := timeLeft(ctx); ok && left < timeout {
		// A request cut off by the run's end may still have been answered
		// with a token, which would be lost: send none.
		return Token{}, &Error{Err: fmt.Errorf("%w: one may take %s (the request timeout), %s is left", ErrNoTime, timeout, left.Round(time.Millisecond)), Retryable: true}
	}
	var last *Error
	for attempt := 1; ; attempt++ {
		enc, err := c.encode(r)
		if err != nil {
			return Token{}, &Error{Err: err, Attempts: attempt - 1}
		}
		tok, retryAfter, ferr := c.once(ctx, hc, r, enc)
		if ferr == nil {
			tok.Attempts = attempt
			return tok, nil
		}
		ferr.Attempts = attempt
		ferr.Auth, ferr.Body = string(r.auth()), r.body()
		ferr.redact(enc.secrets(r)...)
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
		if left, ok := timeLeft(ctx); ok && left < wait+timeout {
			ferr.Err = errors.Join(ferr.Err, fmt.Errorf("no time left in this run to retry: the wait (%s) and a whole request (%s) do not fit in the %s left",
				wait.Round(time.Millisecond), timeout, left.Round(time.Millisecond)))
			return Token{}, last
		}
		if err := c.sleep(ctx, wait); err != nil {
			return Token{}, last
		}
	}
}

// AttemptTimeout is how long one request may take: RequestTimeout, or
// DefaultRequestTimeout when that is zero. Fetch starts a request only
// when that much is left before ctx's deadline.
func (c *Client) AttemptTimeout() time.Duration {
	return orDur(c.RequestTimeout, DefaultRequestTimeout)
}

// timeLeft is the time until ctx's deadline, if it has one.
func timeLeft(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	return time.Until(dl), ok
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
