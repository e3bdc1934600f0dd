package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/smithy-go"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// clock is a settable fake time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memStore is an in-memory Store holding the encoded values, as SSM does.
type memStore struct {
	mu       sync.Mutex
	values   map[string]string
	versions map[string]int64
	leases   map[string]bool
	readErr  error
	writeErr error
	// failRead, when set, is asked before each Read (numbered from 1)
	// whether it fails.
	failRead   func(n int) error
	reads      int
	writes     int
	leaseCalls int
	leaseErr   error         // returned by Lease when set
	newErr     error         // returned by Write for a parameter not yet stored
	throttles  int           // Write calls still to refuse with ThrottlingException
	leaseDelay time.Duration // how long Lease takes
}

func newMemStore() *memStore {
	return &memStore{values: map[string]string{}, versions: map[string]int64{}, leases: map[string]bool{}}
}

func (m *memStore) Read(_ context.Context, names []string) (map[string]tokenstore.Stored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.readErr != nil {
		return nil, m.readErr
	}
	if m.failRead != nil {
		if err := m.failRead(m.reads); err != nil {
			return nil, err
		}
	}
	out := map[string]tokenstore.Stored{}
	for _, n := range names {
		v, ok := m.values[n]
		if !ok {
			continue
		}
		rec, err := tokenrecord.Parse([]byte(v))
		out[n] = tokenstore.Stored{Record: rec, Version: m.versions[n], Err: err}
	}
	return out, nil
}

func (m *memStore) Write(ctx context.Context, name string, rec tokenrecord.Record) (int64, error) {
	if err := ctx.Err(); err != nil { // as the SSM client does
		return 0, err
	}
	b, err := tokenrecord.Marshal(rec)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writeErr != nil {
		return 0, m.writeErr
	}
	if _, ok := m.values[name]; !ok && m.newErr != nil {
		return 0, m.newErr
	}
	if m.throttles > 0 {
		m.throttles--
		return 0, fmt.Errorf("tokenstore: put %s: %w", name, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"})
	}
	m.writes++
	m.values[name] = string(b)
	m.versions[name]++
	return m.versions[name], nil
}

func (m *memStore) Lease(_ context.Context, name, _ string, _ time.Time, _ time.Duration) (func(context.Context), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leaseCalls++
	time.Sleep(m.leaseDelay)
	if m.leaseErr != nil {
		return nil, m.leaseErr
	}
	if m.leases[name] {
		return nil, tokenstore.ErrLeaseHeld
	}
	m.leases[name] = true
	return func(context.Context) {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.leases, name)
	}, nil
}

func (m *memStore) record(name string) (tokenrecord.Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[name]
	if !ok {
		return tokenrecord.Record{}, false
	}
	r, err := tokenrecord.Parse([]byte(v))
	return r, err == nil
}

func (m *memStore) raw(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[name]
}

// fakeSecrets serves credentials from a map and counts reads per id.
type fakeSecrets struct {
	mu    sync.Mutex
	creds map[string]clientcred.Credentials
	errs  map[string]error
	reads map[string]int
}

func (f *fakeSecrets) Get(_ context.Context, id string) (clientcred.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reads == nil {
		f.reads = map[string]int{}
	}
	f.reads[id]++
	if err := f.errs[id]; err != nil {
		return clientcred.Credentials{}, err
	}
	c, ok := f.creds[id]
	if !ok {
		return clientcred.Credentials{}, fmt.Errorf("clientcred: read secret %q: %w", id, clientcred.ErrNotFound)
	}
	return c, nil
}

func (f *fakeSecrets) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.reads {
		n += v
	}
	return n
}

// fakeFetcher issues tokens with a fixed lifetime, counting requests per
// audience+params, and can fail for a token URL. Each request takes delay,
// and gives up after timeout (default 1 s), which it reports as its
// AttemptTimeout, as oauth.Client does.
type fakeFetcher struct {
	ttl       time.Duration
	timeout   time.Duration
	calls     atomic.Int64
	inflight  atomic.Int64
	maxFlight atomic.Int64
	delay     time.Duration
	mu        sync.Mutex
	fail      map[string]error // by token URL
	seen      []oauth.Request
}

// AttemptTimeout is how long one request may take.
func (f *fakeFetcher) AttemptTimeout() time.Duration {
	if f.timeout > 0 {
		return f.timeout
	}
	return time.Second
}

func (f *fakeFetcher) Fetch(ctx context.Context, r oauth.Request) (oauth.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, f.AttemptTimeout())
	defer cancel()
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxFlight.Load()
		if n <= m || f.maxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			return oauth.Token{}, err
		}
	}
	c := f.calls.Add(1)
	f.mu.Lock()
	f.seen = append(f.seen, r)
	err := f.fail[r.TokenURL]
	f.mu.Unlock()
	if err != nil {
		return oauth.Token{}, err
	}
	ttl := f.ttl
	if ttl == 0 {
		ttl = 24 * time.Hour
	}
	return oauth.Token{AccessToken: fmt.Sprintf("tok-%d-%s", c, strings.Repeat("x", 16)), TokenType: "Bearer", ExpiresIn: ttl}, nil
}

var errBoom = errors.New("boom")
