package mototest

import (
	"io"
	"math"
	"net/http"
	"sync"
	"time"
)

// Quota is an account-wide token bucket shared by a group of operations, as
// AWS throttles them per account and region: each call takes one token; a
// call that finds the bucket empty is answered as SSM answers it (HTTP 400,
// X-Amzn-ErrorType: ThrottlingException, {"__type":"ThrottlingException",
// "message":"Rate exceeded"}) and not forwarded. The bucket holds Burst
// tokens and refills at Rate per second.
type Quota struct {
	// Name labels the group in reports, such as "SSM reads".
	Name string
	// Ops are the operations (X-Amz-Target values, see the Op constants)
	// that share the bucket.
	Ops []string
	// Rate is the sustained calls per second.
	Rate float64
	// Burst is how many calls may come at once after a quiet spell; zero
	// means Rate rounded up (one second's worth, at least 1).
	Burst int
}

// Quota defaults (per account and region).
const (
	// ReadTPS is GetParameter, GetParameters and GetParametersByPath
	// together: the documented "standard throughput" of Parameter Store.
	ReadTPS = 40
	// PutTPS is PutParameter with standard throughput. Not documented: AWS
	// Support has quoted 3 TPS (10 with higher throughput).
	PutTPS = 3
	// PutTPSHigherThroughput is PutParameter with higher throughput, as
	// AWS Support has quoted it.
	PutTPSHigherThroughput = 10
	// DeleteTPS is DeleteParameter. Not documented either; modelled like
	// PutParameter, a write, in a bucket of its own.
	DeleteTPS = 3
	// SecretsTPS is Secrets Manager GetSecretValue (documented: 10,000
	// per second since 2022).
	SecretsTPS = 10000
)

// OpGetParametersByPath is counted and throttled with the reads.
const OpGetParametersByPath = "AmazonSSM.GetParametersByPath"

// DefaultQuotas is the quota model of an account with Parameter Store's
// standard throughput, PutParameter at putTPS (PutTPS, or
// PutTPSHigherThroughput).
func DefaultQuotas(putTPS float64) []Quota {
	return []Quota{
		{Name: "SSM reads", Ops: []string{OpGetParameter, OpGetParameters, OpGetParametersByPath}, Rate: ReadTPS},
		{Name: "PutParameter", Ops: []string{OpPutParameter}, Rate: putTPS},
		{Name: "DeleteParameter", Ops: []string{OpDeleteParam}, Rate: DeleteTPS},
		{Name: "GetSecretValue", Ops: []string{OpGetSecretValue}, Rate: SecretsTPS},
	}
}

// bucket is one Quota's state.
type bucket struct {
	q      Quota
	tokens float64
	at     time.Time
}

func (b *bucket) take(now time.Time) bool {
	burst := float64(b.q.Burst)
	if burst <= 0 {
		burst = max(1, math.Ceil(b.q.Rate))
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*b.q.Rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// quotas holds a Proxy's buckets by operation.
type quotas struct {
	mu        sync.Mutex
	byOp      map[string]*bucket
	throttled map[string]int
	now       func() time.Time
}

// SetQuotas replaces the proxy's quota model with qs (none: nothing is
// throttled). Every bucket starts full.
func (p *Proxy) SetQuotas(qs ...Quota) {
	p.q.mu.Lock()
	defer p.q.mu.Unlock()
	if p.q.now == nil {
		p.q.now = time.Now
	}
	now := p.q.now()
	p.q.byOp = map[string]*bucket{}
	for _, q := range qs {
		b := &bucket{q: q, at: now}
		b.tokens = float64(q.Burst)
		if q.Burst <= 0 {
			b.tokens = max(1, math.Ceil(q.Rate))
		}
		for _, op := range q.Ops {
			p.q.byOp[op] = b
		}
	}
}

// admit reports whether a call of op fits its quota (always, for an op
// with none), and counts the ones that do not.
func (q *quotas) admit(op string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.byOp[op]
	if b == nil || b.take(q.now()) {
		return true
	}
	if q.throttled == nil {
		q.throttled = map[string]int{}
	}
	q.throttled[op]++
	return false
}

// Throttled returns how many calls of op the quota model refused.
func (p *Proxy) Throttled(op string) int {
	p.q.mu.Lock()
	defer p.q.mu.Unlock()
	return p.q.throttled[op]
}

// writeThrottle answers a call as SSM answers one over its quota.
func writeThrottle(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, Throttle)
}
