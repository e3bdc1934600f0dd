package mototest

import (
	"bytes"
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
// such as "AmazonSSM.GetParameters" or "secretsmanager.GetSecretValue",
// and as sts.<Action> for STS), can answer chosen operations with injected
// faults instead of forwarding them, can throttle them as AWS does per
// account (SetQuotas: moto has no rate limits of its own), and enforces
// the trust and permission policies of chosen roles (EnforceRole: moto
// evaluates neither as AWS does). It is safe for concurrent use.
type Proxy struct {
	// URL is the proxy's endpoint; point AWS_ENDPOINT_URL at it.
	URL string

	srv    *httptest.Server
	mu     sync.Mutex
	counts map[string]int
	faults []Fault
	q      quotas

	roles    map[string]Role      // enforced, by ARN
	orgs     map[string]Placement // by account
	sessions map[string]identity  // by access key, from AssumeRole answers
	refusals []string
}

// Fault answers the next Times calls of Op (every call while Times < 0)
// with Status and Body, as AWS would (for example 400 with
// {"__type":"ThrottlingException","message":"Rate exceeded"}). When Match
// is set, only calls whose request body contains it are answered, such as
// the PutParameter of one parameter (`"Name":"/oauth-tokens/p"`) or the
// GetSecretValue of one secret.
type Fault struct {
	Op     string
	Times  int
	Status int
	Body   string
	Match  string
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
	rp.ModifyResponse = p.learn
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		c := readCall(r, body)
		op := operation(r, c)
		r = withAssume(r, c, op)
		if ref := p.authorize(c, op); ref != nil {
			p.mu.Lock()
			p.counts[op]++
			p.mu.Unlock()
			ref.write(w)
			return
		}
		p.mu.Lock()
		p.counts[op]++
		f, faulted := p.takeFault(op, body)
		p.mu.Unlock()
		if !faulted && !p.q.admit(op) {
			writeThrottle(w)
			return
		}
		if faulted {
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

func (p *Proxy) takeFault(op string, body []byte) (Fault, bool) {
	for i, f := range p.faults {
		if f.Op != op || (f.Match != "" && !bytes.Contains(body, []byte(f.Match))) {
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

// Pending returns how many more calls the queued faults of op will answer
// (-1 when one answers every call), so a test can check that exactly the
// expected number of attempts met them.
func (p *Proxy) Pending(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, f := range p.faults {
		if f.Op == op {
			if f.Times < 0 {
				return -1
			}
			n += f.Times
		}
	}
	return n
}

// Clear drops every queued fault.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
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

// Reset zeroes the counts (faults stay queued; Clear drops them).
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
	OpDeleteParam    = "AmazonSSM.DeleteParameter"
	OpGetSecretValue = "secretsmanager.GetSecretValue"
)
