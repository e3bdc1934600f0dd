package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
)

// maxAnswerBody caps the partner API's answer body returned in answer.Body
// (Lambda's own limit on an answer is 6 MiB).
const maxAnswerBody = 1 << 20

// event is the function's event: one call to the partner API.
type event struct {
	// Method is the HTTP method; empty means GET.
	Method string `json:"method"`
	// Path is appended to API_BASE_URL; it starts with "/" and may carry a
	// query string.
	Path string `json:"path"`
	// Body is sent as the request body (Content-Type: application/json)
	// when not empty.
	Body string `json:"body"`
}

// answer is the function's answer: the partner API's status and body.
type answer struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// handler calls the partner API with the profile's token from the cache.
// Build it once per process (outside the handler function), so that the
// cache survives warm invocations. It is safe for concurrent use.
type handler struct {
	cfg     config
	cache   *tokencache.Cache
	client  *http.Client
	metrics io.Writer
	now     func() time.Time

	mu   sync.Mutex // guards last and writes to metrics
	last tokencache.Stats
}

// newHandler returns a handler for cfg that reads its token through cache,
// sends requests through base (nil means http.DefaultTransport) and writes
// one CloudWatch Embedded Metric Format line per invocation to metrics.
func newHandler(cfg config, cache *tokencache.Cache, base http.RoundTripper, metrics io.Writer) *handler {
	return &handler{
		cfg:     cfg,
		cache:   cache,
		client:  &http.Client{Transport: cache.Source(cfg.Profile).Transport(base, cfg.UserAgent)},
		metrics: metrics,
		now:     time.Now,
	}
}

// Handle sends the event's request to the partner API and answers with its
// status and body. Any status is an answer; an error means no answer was
// obtained (bad event, no valid token, network failure, body too large). No
// error contains the token.
func (h *handler) Handle(ctx context.Context, ev event) (answer, error) {
	defer h.emitMetrics()
	req, err := h.request(ctx, ev)
	if err != nil {
		return answer{}, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL: the error already says where
		}
		return answer{}, fmt.Errorf("consumer: %s %s for profile %q: %w", req.Method, ev.Path, h.cfg.Profile, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody+1))
	if err != nil {
		return answer{}, fmt.Errorf("consumer: %s %s for profile %q: read the answer: %w", req.Method, ev.Path, h.cfg.Profile, err)
	}
	if len(body) > maxAnswerBody {
		return answer{}, fmt.Errorf("consumer: %s %s for profile %q: the answer is larger than %d bytes", req.Method, ev.Path, h.cfg.Profile, maxAnswerBody)
	}
	return answer{Status: resp.StatusCode, Body: string(body)}, nil
}

// request builds the partner API request for ev, refusing paths that would
// leave API_BASE_URL.
func (h *handler) request(ctx context.Context, ev event) (*http.Request, error) {
	method := strings.ToUpper(strings.TrimSpace(ev.Method))
	if method == "" {
		method = http.MethodGet
	}
	if !onlyChars(method, "") {
		return nil, fmt.Errorf("consumer: event method %q is not an HTTP method", ev.Method)
	}
	if !strings.HasPrefix(ev.Path, "/") || strings.HasPrefix(ev.Path, "//") {
		return nil, fmt.Errorf("consumer: event path %q must start with a single \"/\"", ev.Path)
	}
	rel, err := url.Parse(ev.Path)
	if err != nil || rel.Scheme != "" || rel.Host != "" || rel.Fragment != "" {
		return nil, fmt.Errorf("consumer: event path %q is not a path (with an optional query)", ev.Path)
	}
	for _, seg := range strings.Split(rel.Path, "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Errorf("consumer: event path %q must not contain . or .. segments", ev.Path)
		}
	}
	u := *h.cfg.BaseURL
	u.Path = h.cfg.BaseURL.Path + rel.Path
	u.RawPath = ""
	if h.cfg.BaseURL.RawPath != "" || rel.RawPath != "" {
		u.RawPath = h.cfg.BaseURL.EscapedPath() + rel.EscapedPath()
	}
	u.RawQuery = rel.RawQuery

	var body io.Reader
	if ev.Body != "" {
		body = strings.NewReader(ev.Body) // replayable: GetBody is set, so a 401 can be retried
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("consumer: build %s %s: %w", method, ev.Path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
