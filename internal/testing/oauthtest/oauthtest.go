package oauthtest

import (
	"crypto"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Provider describes how one token endpoint behaves.
type Provider struct {
	// Name identifies the provider; the endpoint is served at Path under
	// "/<Name>".
	Name string
	// Path is the token path, such as "/oauth/token".
	Path string
	// Audiences lists the accepted audiences. When not empty, a request
	// must carry one of them.
	Audiences []string
	// RequiredParams are body fields that must be present and non-empty.
	RequiredParams []string
	// RequireAccept demands Accept: application/json.
	RequireAccept bool
	// JSONOnly refuses form bodies.
	JSONOnly bool
	// ExpiresIn is the token lifetime in seconds.
	ExpiresIn int
	// ExpiresInString sends expires_in as a JSON string.
	ExpiresInString bool
	// Auth is the client authentication required: AuthPost (empty),
	// AuthBasic or AuthJWT. Any other method gets 401 invalid_client.
	Auth string
	// FormOnly refuses JSON bodies (400 unsupported_grant_type, as
	// servers that read only forms see no grant_type).
	FormOnly bool
	// JWTTokens issues JWT-shaped access tokens carrying exp.
	JWTTokens bool
	// NoExpiresIn leaves expires_in out of answers (Salesforce).
	NoExpiresIn bool
}

// The providers of ../shared/providers, as Provider values.
var (
	AVIVSeekerLeads = Provider{Name: "aviv-leads", Path: "/oauth/token", ExpiresIn: 86400,
		Audiences: []string{"https://api.aviv-group.com/seeker-leads-ingest-de/v1", "https://api.aviv-group.com/sandbox/seeker-leads-ingest-de/v1"}}
	AVIVCaaS = Provider{Name: "aviv-caas", Path: "/oauth/token", ExpiresIn: 86400, RequiredParams: []string{"intermediary_id"},
		Audiences: []string{"https://api.aviv-group.com/caas/v3", "https://api.aviv-group.com/sandbox/caas/v3"}}
	Pliant = Provider{Name: "pliant", Path: "/oauth/token", ExpiresIn: 36000,
		Audiences: []string{"api.getpliant.com/api/integration", "api.staging.v2.infinnitytest.com/api/integration"}}
	PartnerAPI = Provider{Name: "partner", Path: "/api/oauth/token", ExpiresIn: 3600, RequireAccept: true, JSONOnly: true, ExpiresInString: false}
)

// Providers returns the four providers.
func Providers() []Provider { return []Provider{AVIVSeekerLeads, AVIVCaaS, Pliant, PartnerAPI} }

// Fault is a scripted answer for the next Times requests to a provider
// (any provider when Provider is empty).
type Fault struct {
	Provider string
	Times    int               // how many requests it answers (default 1)
	Status   int               // HTTP status; 0 with Drop closes the connection
	Body     string            // raw body
	Header   map[string]string // extra response headers (Retry-After, Location…)
	Delay    time.Duration     // wait before answering (or until the request ends)
	Drop     bool              // close the connection without an answer
}

// Issued is a token the server handed out.
type Issued struct {
	Token     string
	Provider  string
	ClientID  string
	Audience  string
	Params    map[string]string
	IssuedAt  time.Time
	ExpiresAt time.Time
	Revoked   bool
}

// Recorded is one token request as the server saw it (without the secret).
type Recorded struct {
	Provider    string
	ClientID    string
	SecretOK    bool
	Audience    string
	Scope       string
	Params      map[string]string
	ContentType string
	Accept      string
	UserAgent   string
	Status      int
}

// Server is a running fake. Close it when done.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:40123.
	URL string
	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time

	srv       *httptest.Server
	providers map[string]Provider
	latency   atomic.Int64 // time.Duration
	slow      atomic.Int64 // time.Duration: see SetSlowAnswer

	signingKey []byte

	mu       sync.Mutex
	clients  map[string]string
	keys     map[string]crypto.PublicKey
	jtis     map[string]bool
	faults   []Fault
	requests []Recorded
	issued   map[string]*Issued
	apiCalls int
}

// NewServer starts a fake with the given providers (all four when none).
func NewServer(providers ...Provider) *Server {
	if len(providers) == 0 {
		providers = Providers()
	}
	s := &Server{providers: map[string]Provider{}, clients: map[string]string{}, issued: map[string]*Issued{},
		keys: map[string]crypto.PublicKey{}, jtis: map[string]bool{}, signingKey: []byte(newToken("key"))}
	mux := http.NewServeMux()
	for _, p := range providers {
		s.providers[p.Name] = p
		mux.HandleFunc("/"+p.Name+p.Path, func(w http.ResponseWriter, r *http.Request) { s.token(p, w, r) })
	}
	mux.HandleFunc("/api/", s.api)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetLatency makes every token request wait d before it is answered (or
// until the request ends), on top of any Fault's Delay, as a distant or
// slow endpoint would; 0 answers at once. It applies to requests that
// arrive after the call.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// SetSlowAnswer makes every answer that carries a token wait d after the
// token was issued, as an endpoint whose answers are slow to come back: a
// caller that gives up meanwhile gets nothing, but IssuedTokens counts the
// token the provider issued (SetLatency, by contrast, waits before
// handling, and a caller that gives up then is issued nothing). Errors and
// Faults are answered without it. 0 answers at once. It applies to
// requests that arrive after the call.
func (s *Server) SetSlowAnswer(d time.Duration) { s.slow.Store(int64(d)) }

// TokenURL returns the token endpoint of the named provider.
func (s *Server) TokenURL(provider string) string {
	p, ok := s.providers[provider]
	if !ok {
		panic("oauthtest: unknown provider " + provider)
	}
	return s.URL + "/" + p.Name + p.Path
}

// APIURL is the base URL of the fake partner API, which accepts only valid
// tokens issued here: GET/POST <APIURL>/anything answers 200 with JSON
// describing the caller, or 401.
func (s *Server) APIURL() string { return s.URL + "/api" }

// AddClient registers a client id and secret.
func (s *Server) AddClient(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = secret
}

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Requests returns every token request seen so far.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestCount returns how many token requests were seen.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// APICalls returns how many partner-API calls were seen.
func (s *Server) APICalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiCalls
}

// IssuedTokens returns every token handed out, oldest first.
func (s *Server) IssuedTokens() []Issued {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issued, 0, len(s.issued))
	for _, i := range s.issued {
		out = append(out, *i)
	}
	slices.SortFunc(out, func(a, b Issued) int { return a.IssuedAt.Compare(b.IssuedAt) })
	return out
}

// Revoke makes the partner API reject a token, as a provider that revoked it.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.issued[token]; ok {
		i.Revoked = true
	}
}

// Valid reports whether token was issued here and is neither revoked nor
// expired.
func (s *Server) Valid(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.issued[token]
	return ok && !i.Revoked && s.now().Before(i.ExpiresAt)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) takeFault(provider string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Provider == "" || f.Provider == provider {
			f.Times--
			if f.Times <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			} else {
				s.faults[i] = f
			}
			return f, true
		}
	}
	return Fault{}, false
}

// api is the fake partner API: it requires a valid Bearer token it issued
// and a User-Agent, as AVIV's firewall does.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.apiCalls++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("User-Agent") == "" {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"message":"blocked: User-Agent required"}`)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.Valid(tok) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"message":"invalid or expired token"}`)
		return
	}
	s.mu.Lock()
	i := *s.issued[tok]
	s.mu.Unlock()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	out, _ := json.Marshal(map[string]any{"ok": true, "method": r.Method, "path": strings.TrimPrefix(r.URL.Path, "/api"),
		"provider": i.Provider, "audience": i.Audience, "params": i.Params, "body_bytes": len(body)})
	_, _ = w.Write(out)
}
