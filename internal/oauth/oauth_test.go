package oauth

import (
	"context"
	"errors"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

const (
	clientID = "client-abc"
	secret   = "SECRET-f9a8b7c6d5e4-do-not-log"
)

// sleeps records requested waits instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func newClient(s *sleeps) *Client {
	return &Client{Sleep: s.sleep, Rand: func() float64 { return 1 }, RequestTimeout: 2 * time.Second}
}

func TestFetchProviders(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	srv.AddClient(clientID, secret)
	tests := []struct {
		name     string
		provider string
		req      Request
		wantTTL  time.Duration
	}{
		{"aviv seeker leads sandbox", "aviv-leads", Request{Audience: "https://api.aviv-group.com/sandbox/seeker-leads-ingest-de/v1"}, 24 * time.Hour},
		{"aviv caas with intermediary", "aviv-caas", Request{Audience: "https://api.aviv-group.com/caas/v3", Params: map[string]string{"intermediary_id": "agency-42"}}, 24 * time.Hour},
		{"pliant staging", "pliant", Request{Audience: "api.staging.v2.infinnitytest.com/api/integration"}, 10 * time.Hour},
		{"partner with accept", "partner", Request{Headers: map[string]string{"Accept": "application/json"}}, time.Hour},
		{"aviv as form with scope", "aviv-leads", Request{Audience: "https://api.aviv-group.com/seeker-leads-ingest-de/v1", Scope: "leads:write", Form: true}, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.TokenURL, r.ClientID, r.ClientSecret = srv.TokenURL(tt.provider), clientID, secret
			before := srv.RequestCount()
			tok, err := newClient(&sleeps{}).Fetch(context.Background(), r)
			if err != nil {
				t.Fatalf("Fetch(%s) = %v; want a token", tt.provider, err)
			}
			if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != tt.wantTTL {
				t.Errorf("Fetch = %v; want Bearer, %v", tok, tt.wantTTL)
			}
			reqs := srv.Requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("endpoint saw %d requests; want 1", len(reqs))
			}
			got := reqs[0]
			if !got.SecretOK || got.ClientID != clientID || got.Audience != r.Audience || got.Scope != r.Scope {
				t.Errorf("request = %+v; want client, secret, audience %q, scope %q", got, r.Audience, r.Scope)
			}
			for k, v := range r.Params {
				if got.Params[k] != v {
					t.Errorf("param %s = %q; want %q", k, got.Params[k], v)
				}
			}
			wantCT := "application/json"
			if r.Form {
				wantCT = "application/x-www-form-urlencoded"
			}
			if got.ContentType != wantCT {
				t.Errorf("Content-Type = %q; want %q", got.ContentType, wantCT)
			}
			if !strings.HasPrefix(got.UserAgent, "oauth-token-rotator/") {
				t.Errorf("User-Agent = %q; want it to name the project", got.UserAgent)
			}
		})
	}
}

func TestFetchProviderRejections(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	srv.AddClient(clientID, secret)
	tests := []struct {
		name       string
		provider   string
		req        Request
		wantStatus int
		wantCode   string
	}{
		{"wrong audience", "aviv-leads", Request{Audience: "https://api.aviv-group.com/caas/v3"}, 403, "access_denied"},
		{"missing intermediary_id", "aviv-caas", Request{Audience: "https://api.aviv-group.com/caas/v3"}, 400, "invalid_request"},
		{"missing accept", "partner", Request{Headers: map[string]string{"Accept": "text/html"}}, 406, "invalid_request"},
		{"form refused", "partner", Request{Headers: map[string]string{"Accept": "application/json"}, Form: true}, 400, "invalid_request"},
		{"wrong secret", "pliant", Request{Audience: "api.getpliant.com/api/integration", ClientSecret: "wrong"}, 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.TokenURL, r.ClientID = srv.TokenURL(tt.provider), clientID
			if r.ClientSecret == "" {
				r.ClientSecret = secret
			}
			s := &sleeps{}
			_, err := newClient(s).Fetch(context.Background(), r)
			var oe *Error
			if !errors.As(err, &oe) {
				t.Fatalf("Fetch error = %v; want *oauth.Error", err)
			}
			if oe.StatusCode != tt.wantStatus || oe.Code != tt.wantCode || oe.Retryable || oe.Attempts != 1 {
				t.Errorf("Fetch error = %+v; want status %d, code %q, one attempt, not retryable", oe, tt.wantStatus, tt.wantCode)
			}
			if len(s.d) != 0 {
				t.Errorf("slept %v; a 4xx must not be retried", s.d)
			}
		})
	}
}

// serve answers with the given handler, counting requests.
func serve(t *testing.T, h func(n int, w http.ResponseWriter, r *http.Request)) (string, *int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		h(i, w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/oauth/token", &n
}

func okBody(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"access_token":"tok-good-123456789","expires_in":"3600","token_type":"bearer"}`))
}

func TestFetchRetries(t *testing.T) {
	tests := []struct {
		name       string
		handler    func(n int, w http.ResponseWriter, r *http.Request)
		wantErr    bool
		wantCalls  int
		wantSleeps []time.Duration
	}{
		{"503 then success", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.WriteHeader(503)
				return
			}
			okBody(w)
		}, false, 2, []time.Duration{500 * time.Millisecond}},
		{"429 retry-after seconds", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "3")
				w.WriteHeader(429)
				return
			}
			okBody(w)
		}, false, 2, []time.Duration{3 * time.Second}},
		{"429 retry-after date", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC).Format(http.TimeFormat))
				w.WriteHeader(429)
				return
			}
			okBody(w)
		}, false, 2, []time.Duration{5 * time.Second}},
		{"retry-after too long", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(429)
		}, true, 1, nil},
		{"500 always", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }, true, 4,
			[]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"400 not retried", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_request"}`))
		}, true, 1, nil},
		{"403 not retried", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(403) }, true, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, calls := serve(t, tt.handler)
			s := &sleeps{}
			c := newClient(s)
			c.Now = func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }
			tok, err := c.Fetch(context.Background(), Request{TokenURL: u, ClientID: clientID, ClientSecret: secret})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Fetch = %v, %v; want error %v", tok, err, tt.wantErr)
			}
			if !tt.wantErr && (tok.ExpiresIn != time.Hour || tok.TokenType != "bearer") {
				t.Errorf("Fetch = %v; want 1h, token_type kept as returned", tok)
			}
			if *calls != tt.wantCalls {
				t.Errorf("endpoint calls = %d; want %d", *calls, tt.wantCalls)
			}
			// The caller counts what the provider saw: every request sent.
			var oe *Error
			if sent := tok.Attempts; errors.As(err, &oe) && oe.Attempts != *calls || err == nil && sent != *calls {
				t.Errorf("Fetch reports %d attempts (token), %v (error); want the %d requests sent", sent, err, *calls)
			}
			if len(s.d) != len(tt.wantSleeps) {
				t.Fatalf("sleeps = %v; want %v", s.d, tt.wantSleeps)
			}
			for i := range s.d {
				if s.d[i] != tt.wantSleeps[i] {
					t.Errorf("sleep[%d] = %v; want %v", i, s.d[i], tt.wantSleeps[i])
				}
			}
		})
	}
}

func TestFetchInvalidResponses(t *testing.T) {
	tests := []struct {
		name    string
		ctype   string
		body    string
		wantMsg string
	}{
		{"html", "text/html", "<html>maintenance</html>", "not a JSON token response (content-type text/html"},
		{"empty", "", "", "empty body"},
		{"truncated", "application/json", `{"access_token":"tok-partial`, "not a JSON token response"},
		{"too large", "application/json", `{"access_token":"` + strings.Repeat("a", 70<<10) + `"}`, "exceeds"},
		{"no access_token", "application/json", `{"expires_in":3600}`, "access_token is missing"},
		{"empty access_token", "application/json", `{"access_token":"","expires_in":3600}`, "access_token is empty"},
		{"access_token with newline", "application/json", `{"access_token":"a\nb","expires_in":3600}`, "white space"},
		{"no expires_in", "application/json", `{"access_token":"tok-1234567890"}`, "expires_in is missing"},
		{"zero expires_in", "application/json", `{"access_token":"tok-1234567890","expires_in":0}`, "at least 1 second"},
		{"negative expires_in", "application/json", `{"access_token":"tok-1234567890","expires_in":-60}`, "at least 1 second"},
		{"huge expires_in", "application/json", `{"access_token":"tok-1234567890","expires_in":1e15}`, "exceeds"},
		{"overflowing expires_in", "application/json", `{"access_token":"tok-1234567890","expires_in":1e400}`, "not a number"},
		{"text expires_in", "application/json", `{"access_token":"tok-1234567890","expires_in":"soon"}`, "not a number"},
		{"bool expires_in", "application/json", `{"access_token":"tok-1234567890","expires_in":true}`, "not a number"},
		{"mac token", "application/json", `{"access_token":"tok-1234567890","expires_in":60,"token_type":"mac"}`, `token_type "mac" is not Bearer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, calls := serve(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				_, _ = w.Write([]byte(tt.body))
			})
			tok, err := newClient(&sleeps{}).Fetch(context.Background(), Request{TokenURL: u, ClientID: clientID, ClientSecret: secret})
			if err == nil {
				t.Fatalf("Fetch = %v; want an error", tok)
			}
			if !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Fetch error = %q; want ErrInvalidResponse saying %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "tok-") {
				t.Errorf("error %q quotes the token", err)
			}
			if *calls != 1 {
				t.Errorf("calls = %d; a malformed 200 must not be retried", *calls)
			}
		})
	}
}

func TestFetchNeverFollowsRedirects(t *testing.T) {
	var elsewhere int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { elsewhere++; okBody(w) }))
	defer other.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		u, _ := serve(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/steal", code)
		})
		_, err := newClient(&sleeps{}).Fetch(context.Background(), Request{TokenURL: u, ClientID: clientID, ClientSecret: secret})
		if !errors.Is(err, ErrRedirect) {
			t.Errorf("redirect %d: Fetch error = %v; want ErrRedirect", code, err)
		}
	}
	if elsewhere != 0 {
		t.Errorf("the redirect target received %d requests; want 0", elsewhere)
	}
}

func TestFetchTransportFailures(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + l.Addr().String() + "/oauth/token"
	l.Close()

	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		// Read the body so the server notices when the client gives up.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer hang.Close()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { okBody(w) }))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	tests := []struct {
		name      string
		url       string
		retryable bool
		attempts  int
		wantMsg   string
	}{
		{"connection refused", refused, true, 4, "connection refused"},
		{"timeout", hang.URL + "/t", true, 4, "deadline exceeded"},
		{"untrusted certificate", strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1) + "/t", false, 1, "certificate"},
		{"plain http elsewhere", "http://auth.example.com/oauth/token", false, 0, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(&sleeps{})
			if tt.name == "timeout" {
				c.RequestTimeout = 100 * time.Millisecond
			}
			_, err := c.Fetch(context.Background(), Request{TokenURL: tt.url, ClientID: clientID, ClientSecret: secret})
			var oe *Error
			if !errors.As(err, &oe) {
				t.Fatalf("Fetch error = %v; want *oauth.Error", err)
			}
			if oe.Retryable != tt.retryable || oe.Attempts != tt.attempts || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Fetch error = %q (%+v); want retryable=%v attempts=%d containing %q", err, oe, tt.retryable, tt.attempts, tt.wantMsg)
			}
		})
	}
}

func TestFetchHonoursRunDeadline(t *testing.T) {
	u, calls := serve(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "20")
		w.WriteHeader(503)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := newClient(&sleeps{}).Fetch(ctx, Request{TokenURL: u, ClientID: clientID, ClientSecret: secret})
	if err == nil || !strings.Contains(err.Error(), "no time left") || *calls != 1 {
		t.Fatalf("Fetch = %v after %d calls; want one call and 'no time left'", err, *calls)
	}
}

func TestErrorsNeverContainSecret(t *testing.T) {
	u, _ := serve(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		// A careless endpoint echoing the secret back.
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"bad secret ` + secret + `"}`))
	})
	_, err := newClient(&sleeps{}).Fetch(context.Background(), Request{TokenURL: u, ClientID: clientID, ClientSecret: secret})
	if err == nil || strings.Contains(err.Error(), secret[:8]) {
		t.Fatalf("Fetch error = %v; want an error without the secret", err)
	}
	r := Request{TokenURL: u, ClientID: clientID, ClientSecret: secret}
	if strings.Contains(r.String(), secret[:8]) {
		t.Errorf("Request.String() = %q leaks the secret", r.String())
	}
	tok := Token{AccessToken: "tok-abcdefghijklmnop"}
	if strings.Contains(tok.String(), "abcdefgh") {
		t.Errorf("Token.String() = %q leaks the token", tok.String())
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c := &Client{Now: func() time.Time { return now }}
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{"-5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"9223372036854775807", math.MaxInt64},
		{"99999999999999999999999", math.MaxInt64},
	}
	for _, tt := range tests {
		if got := c.retryAfter(tt.h); got != tt.want {
			t.Errorf("retryAfter(%q) = %v; want %v", tt.h, got, tt.want)
		}
	}
	// A huge Retry-After ends the fetch instead of being ignored.
	u, calls := serve(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "99999999999999999999")
		w.WriteHeader(429)
	})
	s := &sleeps{}
	_, err := newClient(s).Fetch(context.Background(), Request{TokenURL: u, ClientID: clientID, ClientSecret: secret})
	if err == nil || !strings.Contains(err.Error(), "exceeds") || *calls != 1 || len(s.d) != 0 {
		t.Errorf("Fetch with a huge Retry-After = %v after %d calls and sleeps %v; want one call and no wait", err, *calls, s.d)
	}
}
