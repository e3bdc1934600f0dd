package mototest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Proxy sits in front of moto_server: it counts AWS operations (by the
// X-Amz-Target header of the JSON protocols SSM and Secrets Manager use,
// such as "AmazonSSM.GetParameters" or "secretsmanager.GetSecretValue") and
// can answer chosen operations with injected faults instead of forwarding
// them. It is safe for concurrent use.
type Proxy struct {
	// URL is the proxy's endpoint; point AWS_ENDPOINT_URL at it.
	URL string

	srv    *httptest.Server
	mu     sync.Mutex
	counts map[string]int
	faults []Fault
}

// Fault answers the next Times calls of Op (every call while Times < 0)
// with Status and Body, as AWS would (for example 400 with
// {"__type":"ThrottlingException","message":"Rate exceeded"}).
type Fault struct {
	Op     string
	Times  int
	Status int
	Body   string
}

// Throttle is a fault body AWS JSON protocols use for throttling.
const Throttle = `{"__type":"ThrottlingException","message":"Rate exceeded"}`

// NewProxy starts a proxy to target (a moto URL).
func NewProxy(target string) *Proxy {
	u, err := url.Parse(target)
	if err != nil {
		panic("mototest: bad proxy target " + target)
	}
	p := &Proxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if op == "" {
			op = r.Method + " " + r.URL.Path
		}
		p.mu.Lock()
		p.counts[op]++
		f, faulted := p.takeFault(op)
		p.mu.Unlock()
		if faulted {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, f.Body)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	p.URL = p.srv.URL
	return p
}

// Proxy starts a proxy in front of s, closed when the test ends.
func (s *Server) Proxy(tb testing.TB) *Proxy {
	p := NewProxy(s.URL)
	tb.Cleanup(p.Close)
	return p
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// Inject queues a fault.
func (p *Proxy) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
}

func (p *Proxy) takeFault(op string) (Fault, bool) {
	for i, f := range p.faults {
		if f.Op != op {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				p.faults = append(p.faults[:i], p.faults[i+1:]...)
			} else {
				p.faults[i] = f
			}
		}
		return f, true
	}
	return Fault{}, false
}

// Count returns how many calls of op were seen (faulted ones included).
func (p *Proxy) Count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[op]
}

// Counts returns a copy of every operation's count.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Reset zeroes the counts (faults stay queued).
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = map[string]int{}
}

// Operation names as counted by Proxy.
const (
	OpGetParameter   = "AmazonSSM.GetParameter"
	OpGetParameters  = "AmazonSSM.GetParameters"
	OpPutParameter   = "AmazonSSM.PutParameter"
	OpGetSecretValue = "secretsmanager.GetSecretValue"
)
