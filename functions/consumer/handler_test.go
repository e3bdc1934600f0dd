package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/version"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache/tokencachetest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

const testProfile = "aviv-caas-agency-42"

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// clock is a fake clock moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// partner is an httptest partner API that accepts one token at a time and
// counts requests, 401 answers and token requests (which must never come).
type partner struct {
	*httptest.Server
	valid         atomic.Value // string
	answer        atomic.Value // func(http.ResponseWriter, *http.Request)
	requests      atomic.Int64
	unauthorized  atomic.Int64
	tokenRequests atomic.Int64

	mu   sync.Mutex
	last *http.Request
	body string
}

func newPartner(t *testing.T, validToken string) *partner {
	p := &partner{}
	p.valid.Store(validToken)
	p.answer.Store(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"listings":[]}`) })
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/oauth/token") || strings.Contains(r.URL.Path, "/api/oauth/token") {
			p.tokenRequests.Add(1)
			http.Error(w, "consumers must not request tokens", http.StatusForbidden)
			return
		}
		p.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.last, p.body = r.Clone(context.Background()), string(body)
		p.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+p.valid.Load().(string) {
			p.unauthorized.Add(1)
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		p.answer.Load().(func(http.ResponseWriter, *http.Request))(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *partner) lastRequest() (*http.Request, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.body
}

// fixture is a handler wired as main wires it, over fakes.
type fixture struct {
	h       *handler
	ssm     *tokencachetest.Store
	clk     *clock
	api     *partner
	metrics *bytes.Buffer
	logs    *bytes.Buffer
}

func newFixture(t *testing.T, baseURLPath string) *fixture {
	t.Helper()
	fx := &fixture{ssm: &tokencachetest.Store{}, clk: &clock{now: t0}, api: newPartner(t, "token-1"), metrics: &bytes.Buffer{}, logs: &bytes.Buffer{}}
	fx.ssm.SetToken(testProfile, "token-1", t0, 24*time.Hour)
	cfg, err := loadConfig(env(map[string]string{"PROFILE": testProfile, "API_BASE_URL": fx.api.URL + baseURLPath}))
	if err != nil {
		t.Fatal(err)
	}
	fx.ssm.Prefix = cfg.ParameterPrefix
	cache := tokencache.New(fx.ssm, tokencache.Config{
		Prefix: cfg.ParameterPrefix,
		Now:    fx.clk.Now,
		Logger: slog.New(slog.NewJSONHandler(fx.logs, nil)),
	})
	fx.h = newHandler(cfg, cache, nil, fx.metrics)
	fx.h.now = fx.clk.Now
	return fx
}

// sampleEvent decodes events/consumer.json strictly: every field of the
// sample must be one the handler knows.
func sampleEvent(t *testing.T) event {
	t.Helper()
	raw, err := os.ReadFile("../../events/consumer.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var ev event
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("decode events/consumer.json: %v", err)
	}
	return ev
}

func TestHandleSampleEvent(t *testing.T) {
	fx := newFixture(t, "")
	ev := sampleEvent(t)
	ans, err := fx.h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle(events/consumer.json) = %v", err)
	}
	if ans.Status != http.StatusOK || ans.Body != `{"listings":[]}` {
		t.Errorf("Handle(events/consumer.json) = %+v; want status 200 and the partner's body", ans)
	}
	req, _ := fx.api.lastRequest()
	if req.Method != ev.Method || req.URL.Path != ev.Path {
		t.Errorf("partner saw %s %s; want %s %s", req.Method, req.URL.Path, ev.Method, ev.Path)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer token-1" {
		t.Errorf("partner saw Authorization %q; want %q", got, "Bearer token-1")
	}
	if got := req.Header.Get("User-Agent"); got != version.UserAgent("consumer") {
		t.Errorf("partner saw User-Agent %q; want %q", got, version.UserAgent("consumer"))
	}

	// The answer is the contract's JSON.
	b, _ := json.Marshal(ans)
	if got, want := string(b), `{"status":200,"body":"{\"listings\":[]}"}`; got != want {
		t.Errorf("answer JSON = %s; want %s", got, want)
	}
}

// TestFiftyWarmInvocationsOneRead is the acceptance test: one
// process, fifty invocations, one SSM read and no token request.
func TestFiftyWarmInvocationsOneRead(t *testing.T) {
	fx := newFixture(t, "")
	ev := sampleEvent(t)
	for i := range 50 {
		ans, err := fx.h.Handle(context.Background(), ev)
		if err != nil || ans.Status != http.StatusOK {
			t.Fatalf("invocation %d: Handle = %+v, %v; want status 200", i+1, ans, err)
		}
		fx.clk.Advance(3 * time.Second) // 150 s in all: less than the maximum age
	}
	if got := fx.ssm.Reads(); got != 1 {
		t.Errorf("GetParameter calls = %d; want 1", got)
	}
	if got := fx.api.tokenRequests.Load(); got != 0 {
		t.Errorf("token requests = %d; want 0", got)
	}
	if got := fx.api.requests.Load(); got != 50 {
		t.Errorf("partner requests = %d; want 50", got)
	}
}

// TestRevokedTokenReplacedAfterOne401: the provider revokes the token, the
// rotator writes a new one, and the next invocation succeeds after a single
// 401.
func TestRevokedTokenReplacedAfterOne401(t *testing.T) {
	fx := newFixture(t, "")
	ev := sampleEvent(t)
	if _, err := fx.h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	fx.api.valid.Store("token-2") // token-1 revoked
	fx.ssm.SetToken(testProfile, "token-2", t0.Add(time.Hour), 24*time.Hour)
	fx.clk.Advance(time.Minute)

	for i := range 3 {
		ans, err := fx.h.Handle(context.Background(), ev)
		if err != nil || ans.Status != http.StatusOK {
			t.Fatalf("invocation %d after the revocation: Handle = %+v, %v; want status 200", i+1, ans, err)
		}
	}
	if got := fx.api.unauthorized.Load(); got != 1 {
		t.Errorf("401 answers = %d; want 1", got)
	}
	if got := fx.ssm.Reads(); got != 2 {
		t.Errorf("GetParameter calls = %d; want 2", got)
	}
}

func TestHandleRequests(t *testing.T) {
	tests := []struct {
		name     string
		basePath string
		ev       event
		answer   func(http.ResponseWriter, *http.Request)
		want     answer
		wantURI  string // path and query the partner saw
		wantBody string
		wantCT   string
	}{
		{name: "GET with query", ev: event{Method: "GET", Path: "/listings?page=2&size=50"},
			want: answer{200, `{"listings":[]}`}, wantURI: "/listings?page=2&size=50"},
		{name: "empty method means GET", ev: event{Path: "/listings"},
			want: answer{200, `{"listings":[]}`}, wantURI: "/listings"},
		{name: "base URL path kept", basePath: "/sandbox/caas/v3/", ev: event{Method: "get", Path: "/agencies/agency-42"},
			want: answer{200, `{"listings":[]}`}, wantURI: "/sandbox/caas/v3/agencies/agency-42"},
		{name: "POST with body", ev: event{Method: "POST", Path: "/leads", Body: `{"name":"Ada"}`},
			want: answer{200, `{"listings":[]}`}, wantURI: "/leads", wantBody: `{"name":"Ada"}`, wantCT: "application/json"},
		{name: "partner error status is an answer", ev: event{Method: "GET", Path: "/missing"},
			answer: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			},
			want: answer{404, `{"error":"not found"}` + "\n"}, wantURI: "/missing"},
		{name: "answer of exactly 1 MiB", ev: event{Method: "GET", Path: "/big"},
			answer: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, strings.Repeat("a", maxAnswerBody))
			},
			want: answer{200, strings.Repeat("a", maxAnswerBody)}, wantURI: "/big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, tt.basePath)
			if tt.answer != nil {
				fx.api.answer.Store(tt.answer)
			}
			got, err := fx.h.Handle(context.Background(), tt.ev)
			if err != nil || got != tt.want {
				t.Fatalf("Handle(%+v) = {%d, %.40q}, %v; want {%d, %.40q}", tt.ev, got.Status, got.Body, err, tt.want.Status, tt.want.Body)
			}
			req, body := fx.api.lastRequest()
			if req.URL.RequestURI() != tt.wantURI || body != tt.wantBody || req.Header.Get("Content-Type") != tt.wantCT {
				t.Errorf("partner saw %s %q body %q Content-Type %q; want %q body %q Content-Type %q",
					req.Method, req.URL.RequestURI(), body, req.Header.Get("Content-Type"), tt.wantURI, tt.wantBody, tt.wantCT)
			}
		})
	}
}

func TestHandleRefusesBadEvents(t *testing.T) {
	tests := []struct {
		name    string
		ev      event
		wantErr string
	}{
		{"empty path", event{Method: "GET"}, "must start with"},
		{"relative path", event{Method: "GET", Path: "listings"}, "must start with"},
		{"network-path reference", event{Method: "GET", Path: "//evil.example.com/x"}, "must start with a single"},
		{"absolute URL", event{Method: "GET", Path: "https://evil.example.com/x"}, "must start with"},
		{"dot-dot segment", event{Method: "GET", Path: "/sandbox/../admin"}, "segments"},
		{"fragment", event{Method: "GET", Path: "/x#frag"}, "not a path"},
		{"bad method", event{Method: "GE T", Path: "/x"}, "not an HTTP method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, "")
			_, err := fx.h.Handle(context.Background(), tt.ev)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "consumer: ") {
				t.Errorf("Handle(%+v) = %v; want an error containing %q", tt.ev, err, tt.wantErr)
			}
			if n := fx.api.requests.Load(); n != 0 {
				t.Errorf("partner requests = %d; want 0", n)
			}
		})
	}
}

func TestHandleAnswerTooLarge(t *testing.T) {
	fx := newFixture(t, "")
	fx.api.answer.Store(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("a", maxAnswerBody+1))
	})
	if _, err := fx.h.Handle(context.Background(), event{Path: "/big"}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Handle(answer of 1 MiB + 1) = %v; want an error saying it is too large", err)
	}
}

// TestHandleTokenFailure: an error names the profile and its cause, and
// nothing the function writes contains the token.
func TestHandleTokenFailure(t *testing.T) {
	const secret = "eyJSECRET-token-value-0123456789"
	tests := []struct {
		name     string
		value    string // stored record; empty: none
		wantKind error
	}{
		{"no record", "", tokencache.ErrNotFound},
		{"record expired", `{"access_token":"` + secret + `","token_type":"Bearer","expires_at":"2026-11-22T09:00:00Z","issued_at":"2026-11-21T09:00:00Z","profile":"` + testProfile + `"}`, tokencache.ErrExpired},
		{"record unreadable", `{"access_token":"` + secret + `","expires_at":12}`, tokencache.ErrUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, "")
			fx.ssm.Delete(testProfile)
			if tt.value != "" {
				fx.ssm.SetValue(tokenrecord.ParameterName("", testProfile), tt.value)
			}
			ans, err := fx.h.Handle(context.Background(), sampleEvent(t))
			if !errors.Is(err, tt.wantKind) || !strings.Contains(err.Error(), `profile "`+testProfile+`"`) {
				t.Fatalf("Handle = %+v, %v; want %v naming profile %q", ans, err, tt.wantKind, testProfile)
			}
			if n := fx.api.requests.Load(); n != 0 {
				t.Errorf("partner requests = %d; want 0", n)
			}
			for what, out := range map[string]string{"error": err.Error(), "metrics": fx.metrics.String(), "logs": fx.logs.String()} {
				if strings.Contains(out, secret) || strings.Contains(out, "eyJSECRET") {
					t.Errorf("%s contain the token: %s", what, out)
				}
			}
		})
	}
}

func TestMetricsEMF(t *testing.T) {
	fx := newFixture(t, "")
	fx.h.cfg.Environment = "production"
	ev := sampleEvent(t)
	for range 3 {
		if _, err := fx.h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(fx.metrics.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("metrics lines = %d; want one per invocation (3):\n%s", len(lines), fx.metrics)
	}
	type line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Environment, Profile                            string
		CacheHits, CacheMisses, StaleServed, ReadErrors *uint64
	}
	wantCounts := [][4]uint64{{0, 1, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}} // hits, misses, stale, read errors
	for i, raw := range lines {
		var l line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("metrics line %d is not JSON: %v: %s", i, err, raw)
		}
		if l.AWS.Timestamp != t0.UnixMilli() || len(l.AWS.CloudWatchMetrics) != 1 {
			t.Fatalf("metrics line %d: _aws = %+v; want Timestamp %d and one directive", i, l.AWS, t0.UnixMilli())
		}
		d := l.AWS.CloudWatchMetrics[0]
		var names []string
		for _, m := range d.Metrics {
			if m.Unit != "Count" {
				t.Errorf("metric %s unit = %q; want Count", m.Name, m.Unit)
			}
			names = append(names, m.Name)
		}
		if d.Namespace != "OAuthTokenRotator" || len(d.Dimensions) != 1 || strings.Join(d.Dimensions[0], ",") != "Environment,Profile" ||
			strings.Join(names, ",") != "CacheHits,CacheMisses,StaleServed,ReadErrors" {
			t.Errorf("metrics line %d directive = %+v; want namespace OAuthTokenRotator, dimensions [[Environment Profile]], the four counters", i, d)
		}
		if l.Environment != "production" || l.Profile != testProfile {
			t.Errorf("metrics line %d dimensions = %q, %q; want %q, %q", i, l.Environment, l.Profile, "production", testProfile)
		}
		if l.CacheHits == nil || l.CacheMisses == nil || l.StaleServed == nil || l.ReadErrors == nil {
			t.Fatalf("metrics line %d lacks a counter: %s", i, raw)
		}
		if got := [4]uint64{*l.CacheHits, *l.CacheMisses, *l.StaleServed, *l.ReadErrors}; got != wantCounts[i] {
			t.Errorf("metrics line %d counts (hits, misses, stale, read errors) = %v; want %v", i, got, wantCounts[i])
		}
	}
}

// TestMetricsEmittedOnError: a failed invocation still reports its counts.
func TestMetricsEmittedOnError(t *testing.T) {
	fx := newFixture(t, "")
	fx.ssm.Delete(testProfile)
	_, _ = fx.h.Handle(context.Background(), sampleEvent(t))
	if !strings.Contains(fx.metrics.String(), `"ReadErrors":1`) {
		t.Errorf("metrics after a failed read = %s; want ReadErrors 1", fx.metrics)
	}
}
