package tokencache

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache/tokencachetest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

const testProfile = "aviv-caas-agency-42"

// t0 is when every test starts on its fake clock.
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeSSM is the public fake, tokencachetest.Store, with two hooks for the
// concurrency tests: when block is set, reads wait for it to be closed (or
// for their context to end); when started is set, each read sends its
// parameter name on it first. Set both before the first read.
type fakeSSM struct {
	*tokencachetest.Store
	block   chan struct{}
	started chan string
}

var _ ParameterGetter = (*fakeSSM)(nil)

func newFakeSSM() *fakeSSM {
	f := &fakeSSM{Store: &tokencachetest.Store{}}
	f.OnRead = func(ctx context.Context, name string) error {
		if f.started != nil {
			f.started <- name
		}
		if f.block != nil {
			select {
			case <-f.block:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	return f
}

func (f *fakeSSM) set(name, value string) { f.SetValue(name, value) }

func (f *fakeSSM) setErr(err error) { f.FailReads(err) }

func (f *fakeSSM) readNames() []string { return f.ReadNames() }

// put stores a record for profile under its default parameter name.
func (f *fakeSSM) put(t testing.TB, profile, token string, issued time.Time, lifetime time.Duration) {
	t.Helper()
	f.SetToken(profile, token, issued, lifetime)
}

// record returns the contract's JSON for a token.
func record(t testing.TB, profile, token string, issued time.Time, lifetime time.Duration) string {
	t.Helper()
	b, err := tokenrecord.Marshal(tokenrecord.Record{
		AccessToken: token, TokenType: "Bearer", Profile: profile,
		IssuedAt: issued, ExpiresAt: issued.Add(lifetime),
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// logBuffer collects JSON log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) lines() int {
	return bytes.Count([]byte(l.String()), []byte("\n"))
}

// newTestCache returns a Cache over f on clk that logs to the returned
// buffer. cfg's Now and Logger are replaced.
func newTestCache(f *fakeSSM, clk *fakeClock, cfg Config) (*Cache, *logBuffer) {
	logs := &logBuffer{}
	cfg.Now = clk.Now
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	return New(f, cfg), logs
}

// mustToken is Token that fails the test on error.
func mustToken(t *testing.T, c *Cache, profile string) string {
	t.Helper()
	tok, err := c.Source(profile).Token(context.Background())
	if err != nil {
		t.Fatalf("Token(%q) = %v; want a token", profile, err)
	}
	return tok
}
