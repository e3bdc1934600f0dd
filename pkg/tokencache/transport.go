package tokencache

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/m2mtokens/oauth-token-rotator/internal/urlpolicy"
	"github.com/m2mtokens/oauth-token-rotator/internal/version"
)

// Transport returns an http.RoundTripper that sends each request through
// base (nil means http.DefaultTransport) with the Source's token
// (Authorization: Bearer …) and userAgent on requests that have none (empty
// means version.UserAgent("consumer"); some partner APIs, AVIV's among them,
// block requests without one). Use it to keep a tuned base transport;
// Client is the same over http.DefaultTransport.
//
// On a 401 answer it invalidates the token it sent (Source.Invalidate) and,
// when the request can be replayed (no body, or GetBody set, as
// http.NewRequest does for bytes and strings readers) and the cache then
// holds a different token, sends the request once more with that token and
// returns the second answer. Otherwise it returns the 401.
//
// It never modifies the caller's request (it sends a clone), never logs
// headers, and sends a token only over https or to a loopback host, and
// only to the host and scheme of the original request (not to the target of
// a redirect elsewhere). It is safe for concurrent use.
func (s *Source) Transport(base http.RoundTripper, userAgent string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if userAgent == "" {
		userAgent = version.UserAgent("consumer")
	}
	return &transport{src: s, base: base, userAgent: userAgent}
}

// Client returns an *http.Client whose requests carry the Source's token
// and userAgent, through s.Transport(nil, userAgent). Set a timeout on the
// client or deadlines on the requests' contexts.
func (s *Source) Client(userAgent string) *http.Client {
	return &http.Client{Transport: s.Transport(nil, userAgent)}
}

// transport is the RoundTripper of Source.Transport.
type transport struct {
	src       *Source
	base      http.RoundTripper
	userAgent string
}

var _ http.RoundTripper = (*transport)(nil)

// maxDrain bounds how much of a 401 answer's body is read before the retry,
// so that its connection can be reused.
const maxDrain = 64 << 10

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.mayAuthorize(req) {
		if req.Response != nil {
			// A redirect to another host or scheme: follow it without the token.
			return t.base.RoundTrip(t.prepare(req, req.Body, ""))
		}
		closeBody(req)
		return nil, fmt.Errorf("tokencache: refusing to send a token over %s to %q: use https", req.URL.Scheme, req.URL.Hostname())
	}
	token, err := t.src.Token(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(t.prepare(req, req.Body, token))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	// 401: the token was rejected (revoked, or replaced early by the rotator).
	t.src.Invalidate(token)
	if !replayable(req) {
		return resp, nil
	}
	fresh, err := t.src.Token(req.Context())
	if err != nil || fresh == token {
		return resp, nil // nothing better to try: the caller gets the 401
	}
	body := req.Body
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	resp.Body.Close()
	return t.base.RoundTrip(t.prepare(req, body, fresh))
}

// prepare clones req with body, the token (unless empty) and a User-Agent.
func (t *transport) prepare(req *http.Request, body io.ReadCloser, token string) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	} else {
		r.Header.Del("Authorization")
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", t.userAgent)
	}
	return r
}

// mayAuthorize reports whether req may carry the token: it goes over https
// or to a loopback host, and, if it follows a redirect, to the scheme and
// host of the first request.
func (t *transport) mayAuthorize(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if first != req && (first.URL.Scheme != req.URL.Scheme || !strings.EqualFold(first.URL.Host, req.URL.Host)) {
		return false
	}
	return urlpolicy.Secure(req.URL)
}

// replayable reports whether req can be sent again: it has no body, or
// GetBody can produce a new copy of it.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
