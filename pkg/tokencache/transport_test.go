package tokencache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/version"
)

// partnerAPI is an httptest partner API that accepts one bearer token at a
// time and records what it received.
type partnerAPI struct {
	*httptest.Server
	valid atomic.Value // string: the accepted token

	mu       sync.Mutex
	requests []seen
}

type seen struct {
	auth, userAgent, body, path string
}

// newPartnerAPI starts a partner API that accepts validToken. A route that
// returns true has answered the request instead.
func newPartnerAPI(t *testing.T, validToken string, routes ...func(http.ResponseWriter, *http.Request) bool) *partnerAPI {
	p := &partnerAPI{}
	p.valid.Store(validToken)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.requests = append(p.requests, seen{r.Header.Get("Authorization"), r.Header.Get("User-Agent"), string(body), r.URL.Path})
		p.mu.Unlock()
		for _, route := range routes {
			if route(w, r) {
				return
			}
		}
		if r.Header.Get("Authorization") != "Bearer "+p.valid.Load().(string) {
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *partnerAPI) seen() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.requests...)
}

func TestTransportSetsHeaders(t *testing.T) {
	tests := []struct {
		name      string
		userAgent string // the userAgent of Source.Client
		reqUA     string // set on the request by the caller
		want      string
	}{
		{"default user agent", "", "", version.UserAgent("consumer")},
		{"configured user agent", "leads-sync/2.1", "", "leads-sync/2.1"},
		{"caller's user agent kept", "leads-sync/2.1", "caller/1.0", "caller/1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			f.put(t, testProfile, "token-1", t0, time.Hour)
			c, _ := newTestCache(f, clk, Config{})
			api := newPartnerAPI(t, "token-1")
			client := c.Source(testProfile).Client(tt.userAgent)

			req, _ := http.NewRequest(http.MethodGet, api.URL+"/listings", nil)
			if tt.reqUA != "" {
				req.Header.Set("User-Agent", tt.reqUA)
			}
			before := req.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := api.seen()
			if len(got) != 1 || got[0].auth != "Bearer token-1" || got[0].userAgent != tt.want {
				t.Errorf("partner saw %+v; want one request with Bearer token-1 and User-Agent %q", got, tt.want)
			}
			if len(req.Header) != len(before) || req.Header.Get("Authorization") != "" {
				t.Errorf("caller's request headers = %v after Do; want them unchanged (%v)", req.Header, before)
			}
		})
	}
}

// nonReplayable is a body http.NewRequest cannot copy, so GetBody is nil.
type nonReplayable struct{ io.Reader }

func TestTransportRetriesOnceAfter401(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		body       func() io.Reader
		rotated    bool          // the rotator has replaced the rejected token
		advance    time.Duration // between the first read and the request
		wantStatus int
		wantSent   int // requests the partner API received
		wantReads  int // GetParameter calls in all
	}{
		{"GET, token rotated", http.MethodGet, nil, true, time.Minute, 200, 2, 2},
		{"POST replayable body, token rotated", http.MethodPost, func() io.Reader { return strings.NewReader(`{"lead":1}`) }, true, time.Minute, 200, 2, 2},
		{"POST non-replayable body, token rotated", http.MethodPost, func() io.Reader { return nonReplayable{strings.NewReader(`{"lead":1}`)} }, true, time.Minute, 401, 1, 1},
		{"GET, token not rotated", http.MethodGet, nil, false, time.Minute, 401, 1, 2},
		{"GET, token rotated, record read a second ago", http.MethodGet, nil, true, time.Second, 200, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			f.put(t, testProfile, "token-1", t0, time.Hour)
			c, _ := newTestCache(f, clk, Config{})
			src := c.Source(testProfile)
			mustToken(t, c, testProfile)

			// The provider revokes token-1; the rotator may have written token-2.
			api := newPartnerAPI(t, "token-2")
			if tt.rotated {
				f.put(t, testProfile, "token-2", t0.Add(time.Minute), time.Hour)
			}
			clk.Advance(tt.advance)

			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			req, _ := http.NewRequest(tt.method, api.URL+"/leads", body)
			resp, err := src.Client("").Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s status = %d; want %d", tt.method, resp.StatusCode, tt.wantStatus)
			}
			sent := api.seen()
			if len(sent) != tt.wantSent {
				t.Fatalf("partner received %d requests; want %d", len(sent), tt.wantSent)
			}
			if tt.body != nil && sent[len(sent)-1].body != `{"lead":1}` {
				t.Errorf("last request body = %q; want %q", sent[len(sent)-1].body, `{"lead":1}`)
			}
			if n := f.Reads(); n != tt.wantReads {
				t.Errorf("GetParameter calls = %d; want %d", n, tt.wantReads)
			}
			if tt.rotated && tt.advance >= DefaultMinReadInterval {
				// Whether or not the request was retried, the next one uses token-2.
				if got := mustToken(t, c, testProfile); got != "token-2" {
					t.Errorf("Token(%q) after the 401 = %q; want %q", testProfile, got, "token-2")
				}
			}
		})
	}
}

func TestTransport401BurstCausesOneRead(t *testing.T) {
	const requests = 20
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	c, _ := newTestCache(f, clk, Config{})
	client := c.Source(testProfile).Client("")
	mustToken(t, c, testProfile)
	api := newPartnerAPI(t, "token-2")
	f.put(t, testProfile, "token-2", t0.Add(time.Minute), time.Hour)
	clk.Advance(time.Minute)

	var wg sync.WaitGroup
	for range requests {
		wg.Go(func() {
			resp, err := client.Get(api.URL + "/listings")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET status = %d; want 200", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := f.Reads(); n != 2 {
		t.Errorf("GetParameter calls = %d; want 2 (first read and one re-read)", n)
	}
}

func TestTransportSendsTokenOnlyWhereSafe(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	c, _ := newTestCache(f, clk, Config{})
	client := c.Source(testProfile).Client("")

	elsewhere := newPartnerAPI(t, "token-1")
	api := newPartnerAPI(t, "token-1", func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/listings", http.StatusFound)
		case "/download":
			http.Redirect(w, r, elsewhere.URL+"/file", http.StatusFound)
		default:
			return false
		}
		return true
	})

	tests := []struct {
		name     string
		url      string
		api      *partnerAPI
		wantAuth string // seen by api at the end of the redirects
		wantErr  string
	}{
		{"redirect on the same host keeps the token", api.URL + "/moved", api, "Bearer token-1", ""},
		{"redirect to another host drops it", api.URL + "/download", elsewhere, "", ""},
		{"plain http to a remote host is refused", "http://api.example.com/listings", nil, "", "refusing to send a token over http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Get(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Get(%q) = %v; want an error containing %q", tt.url, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := tt.api.seen()
			if len(got) == 0 || got[len(got)-1].auth != tt.wantAuth {
				t.Errorf("Get(%q): last request seen = %+v; want Authorization %q", tt.url, got, tt.wantAuth)
			}
		})
	}
}

// closeTracker records whether its body was closed.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func TestTransportTokenErrorClosesBody(t *testing.T) {
	c, _ := newTestCache(newFakeSSM(), newClock(), Config{}) // no record stored
	body := &closeTracker{Reader: strings.NewReader("x")}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://api.example.com/leads", body)
	resp, err := c.Source(testProfile).Transport(nil, "").RoundTrip(req)
	if resp != nil || !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), testProfile) {
		t.Errorf("RoundTrip = %v, %v; want no response and ErrNotFound naming %q", resp, err, testProfile)
	}
	if !body.closed.Load() {
		t.Error("RoundTrip did not close the request body on error")
	}
}
