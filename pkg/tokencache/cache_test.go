package tokencache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

func TestTokenHitAfterOneRead(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, 24*time.Hour)
	c, _ := newTestCache(f, clk, Config{})

	for i := range 10 {
		if got := mustToken(t, c, testProfile); got != "token-1" {
			t.Fatalf("call %d: Token(%q) = %q; want %q", i, testProfile, got, "token-1")
		}
		clk.Advance(time.Second)
	}
	if got, want := c.Stats(), (Stats{Hits: 9, Misses: 1, Reads: 1}); got != want {
		t.Errorf("Stats() = %+v; want %+v", got, want)
	}
	if got := f.Reads(); got != 1 {
		t.Errorf("GetParameter calls = %d; want 1", got)
	}
}

func TestParameterNames(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		get    func(*Cache) (string, error)
		want   string
	}{
		{"default prefix", "", func(c *Cache) (string, error) { return c.Source("p1").Token(context.Background()) }, "/oauth-tokens/p1"},
		{"prefix with trailing slash", "/team/tokens/", func(c *Cache) (string, error) { return c.Source("p1").Token(context.Background()) }, "/team/tokens/p1"},
		{"prefix without leading slash", "team", func(c *Cache) (string, error) { return c.Source("p1").Token(context.Background()) }, "/team/p1"},
		{"by parameter", "/ignored", func(c *Cache) (string, error) {
			return c.SourceByParameter("/elsewhere/p1").Token(context.Background())
		}, "/elsewhere/p1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			f.set(tt.want, record(t, "p1", "token-1", t0, time.Hour))
			c, _ := newTestCache(f, clk, Config{Prefix: tt.prefix})
			if got, err := tt.get(c); err != nil || got != "token-1" {
				t.Fatalf("Token = %q, %v; want %q, nil", got, err, "token-1")
			}
			if got := f.readNames(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("parameters read = %q; want [%q]", got, tt.want)
			}
		})
	}
}

func TestSameSourceForSameName(t *testing.T) {
	c := New(newFakeSSM(), Config{})
	if a, b := c.Source("p1"), c.Source("p1"); a != b {
		t.Errorf("Profile(%q) returned two Sources", "p1")
	}
	if a, b := c.SourceByParameter("/x/p1"), c.SourceByParameter("/x/p1"); a != b {
		t.Errorf("Parameter(%q) returned two Sources", "/x/p1")
	}
	if got, want := c.Source("p1").Parameter(), "/oauth-tokens/p1"; got != want {
		t.Errorf("Profile(%q).Parameter() = %q; want %q", "p1", got, want)
	}
	// More profiles than the registry keeps in its short list.
	sources := map[string]*Source{}
	for i := range 3 * maxFirst {
		name := fmt.Sprintf("agency-%d", i)
		sources[name] = c.Source(name)
	}
	for name, want := range sources {
		if got := c.Source(name); got != want || got.Profile() != name {
			t.Errorf("Profile(%q) = %p (profile %q); want %p, the Source registered first", name, got, got.Profile(), want)
		}
	}
}

// TestSkew checks when a cached token is read again because it nears
// expiry. The maximum age is off so that only the skew matters.
func TestSkew(t *testing.T) {
	tests := []struct {
		name    string
		skew    time.Duration
		advance time.Duration // after the first read of a token valid for 10 min
		want    string        // token-1: served from memory; token-2: read again
	}{
		{"default skew, 2 min left", 0, 8 * time.Minute, "token-1"},
		{"default skew, 61 s left", 0, 10*time.Minute - 61*time.Second, "token-1"},
		{"default skew, exactly 60 s left", 0, 9 * time.Minute, "token-2"},
		{"default skew, 30 s left", 0, 9*time.Minute + 30*time.Second, "token-2"},
		{"5 min skew, 4 min left", 5 * time.Minute, 6 * time.Minute, "token-2"},
		{"no skew, 1 s left", -1, 10*time.Minute - time.Second, "token-1"},
		{"no skew, expired", -1, 10 * time.Minute, "token-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			f.put(t, testProfile, "token-1", t0, 10*time.Minute)
			c, _ := newTestCache(f, clk, Config{Skew: tt.skew, MaxAge: -1})
			mustToken(t, c, testProfile)
			f.put(t, testProfile, "token-2", t0.Add(5*time.Minute), time.Hour)
			clk.Advance(tt.advance)
			if got := mustToken(t, c, testProfile); got != tt.want {
				t.Errorf("Token(%q) after %v = %q; want %q", testProfile, tt.advance, got, tt.want)
			}
		})
	}
}

// TestMaxAge checks that a long-running process follows the record as the
// rotator replaces it.
func TestMaxAge(t *testing.T) {
	tests := []struct {
		name    string
		maxAge  time.Duration
		advance time.Duration
		want    string
	}{
		// Each read draws its age from the last fifth of MaxAge.
		{"default, younger than its spread", 0, DefaultMaxAge*4/5 - time.Second, "token-1"},
		{"default, reached", 0, DefaultMaxAge, "token-2"},
		{"10 min, younger than its spread", 10 * time.Minute, 8*time.Minute - time.Second, "token-1"},
		{"10 min, reached", 10 * time.Minute, 10 * time.Minute, "token-2"},
		{"no bound, long before expiry", -1, 23 * time.Hour, "token-1"},
		{"no bound, near expiry", -1, 24*time.Hour - 30*time.Second, "token-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			f.put(t, testProfile, "token-1", t0, 24*time.Hour)
			c, _ := newTestCache(f, clk, Config{MaxAge: tt.maxAge})
			mustToken(t, c, testProfile)
			f.put(t, testProfile, "token-2", t0.Add(time.Minute), 24*time.Hour) // the rotator rotates
			clk.Advance(tt.advance)
			if got := mustToken(t, c, testProfile); got != tt.want {
				t.Errorf("Token(%q) after %v = %q; want %q", testProfile, tt.advance, got, tt.want)
			}
		})
	}
}

func TestStaleServedWhileReadsFail(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	c, logs := newTestCache(f, clk, Config{})
	mustToken(t, c, testProfile)

	f.setErr(errors.New("ThrottlingException: rate exceeded"))
	clk.Advance(DefaultMaxAge)
	if got := mustToken(t, c, testProfile); got != "token-1" {
		t.Fatalf("Token(%q) with SSM failing = %q; want the cached %q", testProfile, got, "token-1")
	}
	if got := logs.lines(); got != 1 || !strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Fatalf("logs after the first failed read = %d lines %s; want 1 warning", got, logs)
	}

	// Within the minimum read interval: served from memory, no read.
	clk.Advance(DefaultMinReadInterval - time.Second)
	if got := mustToken(t, c, testProfile); got != "token-1" {
		t.Fatalf("Token(%q) = %q; want %q", testProfile, got, "token-1")
	}
	if got := f.Reads(); got != 2 {
		t.Fatalf("GetParameter calls = %d; want 2 (no read within MinReadInterval)", got)
	}

	// After it and its spread (up to half of it): read again, fail again,
	// still served, not logged again.
	clk.Advance(DefaultMinReadInterval/2 + time.Second)
	if got := mustToken(t, c, testProfile); got != "token-1" {
		t.Fatalf("Token(%q) = %q; want %q", testProfile, got, "token-1")
	}
	if got := f.Reads(); got != 3 {
		t.Fatalf("GetParameter calls = %d; want 3", got)
	}
	if got := logs.lines(); got != 1 {
		t.Fatalf("log lines after a second failed read = %d; want 1 (logged once)", got)
	}
	if got, want := c.Stats(), (Stats{Hits: 1, Misses: 3, StaleServed: 3, ReadErrors: 2, Reads: 3}); got != want {
		t.Errorf("Stats() = %+v; want %+v", got, want)
	}

	// SSM is back with a rotated token.
	f.setErr(nil)
	f.put(t, testProfile, "token-2", t0.Add(5*time.Minute), time.Hour)
	clk.Advance(DefaultMinReadInterval * 3 / 2)
	if got := mustToken(t, c, testProfile); got != "token-2" {
		t.Fatalf("Token(%q) after recovery = %q; want %q", testProfile, got, "token-2")
	}
	if got := logs.lines(); got != 2 || !strings.Contains(logs.String(), "read again") {
		t.Errorf("logs after recovery = %s; want a second line saying reads succeed again", logs)
	}
	if got := c.Stats().StaleServed; got != 3 {
		t.Errorf("Stats().StaleServed = %d; want 3", got)
	}
}

func TestExpiredTokenNeverServed(t *testing.T) {
	tests := []struct {
		name     string
		ssmErr   error
		advance  time.Duration // after reading a token valid for 10 min
		wantKind error
		wantMsg  string
	}{
		{"read fails, token within skew of expiry", errors.New("connection refused"), 9*time.Minute + 30*time.Second, ErrReadFailed, "connection refused"},
		{"read fails, token expired", errors.New("connection refused"), time.Hour, ErrReadFailed, "could not be read"},
		{"rotator stalled, record within skew", nil, 9 * time.Minute, ErrExpired, "expired at 2026-11-22T10:10:00Z; the rotator has stalled"},
		{"rotator stalled, record expired", nil, time.Hour, ErrExpired, "the rotator has stalled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			f.put(t, testProfile, "token-1", t0, 10*time.Minute)
			c, _ := newTestCache(f, clk, Config{})
			mustToken(t, c, testProfile)
			f.setErr(tt.ssmErr)
			clk.Advance(tt.advance)
			got, err := c.Source(testProfile).Token(context.Background())
			if err == nil || got != "" {
				t.Fatalf("Token(%q) = %q, %v; want no token and an error", testProfile, got, err)
			}
			if !errors.Is(err, tt.wantKind) || !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), testProfile) {
				t.Errorf("Token(%q) error = %q; want %v naming the profile and containing %q", testProfile, err, tt.wantKind, tt.wantMsg)
			}
			if c.Stats().StaleServed != 0 {
				t.Errorf("Stats().StaleServed = %d; want 0", c.Stats().StaleServed)
			}
		})
	}
}

func TestErrorKinds(t *testing.T) {
	const param = "/oauth-tokens/" + testProfile
	tests := []struct {
		name     string
		profile  string
		value    string // stored under param unless empty
		ssmErr   error
		wantKind error
		wantMsg  string
		wantRead bool
	}{
		{name: "missing", profile: testProfile, wantKind: ErrNotFound, wantMsg: "token record not found", wantRead: true},
		{name: "not JSON", profile: testProfile, value: "eyJhbGciOi.not-json", wantKind: ErrUnreadable, wantMsg: "not a JSON object", wantRead: true},
		{name: "invalid record", profile: testProfile, value: `{"access_token":"","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"` + testProfile + `"}`, wantKind: ErrUnreadable, wantMsg: "access_token is empty", wantRead: true},
		{name: "another profile's record", profile: testProfile, value: `{"access_token":"x","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"agency-7"}`, wantKind: ErrUnreadable, wantMsg: `the record is for profile "agency-7"`, wantRead: true},
		{name: "expired record", profile: testProfile, value: `{"access_token":"x","expires_at":"2026-11-22T09:00:00Z","issued_at":"2026-11-21T09:00:00Z","profile":"` + testProfile + `"}`, wantKind: ErrExpired, wantMsg: "rotator has stalled", wantRead: true},
		{name: "access denied", profile: testProfile, ssmErr: errors.New("AccessDeniedException: not authorized to perform ssm:GetParameter"), wantKind: ErrReadFailed, wantMsg: "AccessDeniedException", wantRead: true},
		{name: "invalid profile name", profile: "a/b", wantMsg: "profile name may contain only letters"},
		{name: "empty profile name", profile: "", wantMsg: "profile name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			if tt.value != "" {
				f.set(param, tt.value)
			}
			f.setErr(tt.ssmErr)
			c, _ := newTestCache(f, clk, Config{})
			_, err := c.Source(tt.profile).Token(context.Background())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Token(%q) = %v; want an *Error", tt.profile, err)
			}
			if e.Kind != tt.wantKind || (tt.wantKind != nil && !errors.Is(err, tt.wantKind)) {
				t.Errorf("Token(%q) error kind = %v; want %v", tt.profile, e.Kind, tt.wantKind)
			}
			namesProfile := tt.profile == "" || strings.Contains(err.Error(), `profile "`+tt.profile+`"`)
			if e.Profile != tt.profile || !namesProfile || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Token(%q) error = %q; want it to name the profile and contain %q", tt.profile, err, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "tokencache: ") {
				t.Errorf("Token(%q) error = %q; want the prefix %q", tt.profile, err, "tokencache: ")
			}
			if got := f.Reads() > 0; got != tt.wantRead {
				t.Errorf("GetParameter called = %v; want %v", got, tt.wantRead)
			}
		})
	}
}

func TestNotFoundMatchesSDKError(t *testing.T) {
	c, _ := newTestCache(newFakeSSM(), newClock(), Config{})
	_, err := c.Source(testProfile).Token(context.Background())
	var nf *types.ParameterNotFound
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &nf) {
		t.Errorf("Token(%q) = %v; want ErrNotFound wrapping *types.ParameterNotFound", testProfile, err)
	}
}

func TestFailedReadHeldForMinReadInterval(t *testing.T) {
	tests := []struct {
		name            string
		minReadInterval time.Duration
		wantReads       int // after three calls at the same instant
	}{
		{"default", 0, 1},
		{"none", -1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			c, _ := newTestCache(f, clk, Config{MinReadInterval: tt.minReadInterval})
			for range 3 {
				if _, err := c.Source(testProfile).Token(context.Background()); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Token(%q) = %v; want ErrNotFound", testProfile, err)
				}
			}
			if got := f.Reads(); got != tt.wantReads {
				t.Fatalf("GetParameter calls = %d; want %d", got, tt.wantReads)
			}
			// The rotator writes the record; it is picked up after the
			// interval and its spread.
			f.put(t, testProfile, "token-1", t0, time.Hour)
			clk.Advance(DefaultMinReadInterval * 3 / 2)
			if got := mustToken(t, c, testProfile); got != "token-1" {
				t.Errorf("Token(%q) = %q; want %q", testProfile, got, "token-1")
			}
		})
	}
}

func TestConcurrentMissesShareOneRead(t *testing.T) {
	const callers = 50
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	f.block, f.started = make(chan struct{}), make(chan string, callers)
	c, _ := newTestCache(f, clk, Config{})

	var wg sync.WaitGroup
	got := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = c.Source(testProfile).Token(context.Background()) })
	}
	<-f.started
	for c.Stats().Misses < callers { // every caller is waiting on the read
		runtime.Gosched()
	}
	close(f.block)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != "token-1" {
			t.Fatalf("caller %d: Token(%q) = %q, %v; want %q, nil", i, testProfile, got[i], errs[i], "token-1")
		}
	}
	if n := f.Reads(); n != 1 {
		t.Errorf("GetParameter calls = %d; want 1", n)
	}
}

func TestCallerContextEndsWhileReadGoesOn(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	f.block, f.started = make(chan struct{}), make(chan string, 1)
	c, _ := newTestCache(f, clk, Config{})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Source(testProfile).Token(ctx)
		done <- err
	}()
	<-f.started
	cancel()
	err := <-done
	var e *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Profile != testProfile {
		t.Fatalf("Token(%q) with its context cancelled = %v; want an *Error naming the profile wrapping context.Canceled", testProfile, err)
	}

	close(f.block) // the shared read completes for the next caller
	if got := mustToken(t, c, testProfile); got != "token-1" {
		t.Errorf("Token(%q) = %q; want %q", testProfile, got, "token-1")
	}
	if n := f.Reads(); n != 1 {
		t.Errorf("GetParameter calls = %d; want 1", n)
	}

	// A context that has already ended does not start a read.
	f2 := newFakeSSM()
	c2, _ := newTestCache(f2, clk, Config{})
	if _, err := c2.Source(testProfile).Token(ctx); !errors.Is(err, context.Canceled) || f2.Reads() != 0 {
		t.Errorf("Token(%q) with an ended context = %v after %d reads; want context.Canceled and no read", testProfile, err, f2.Reads())
	}
}

func TestReadTimeoutBoundsSharedRead(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.block = make(chan struct{}) // never closed: only the read timeout ends the read
	c, _ := newTestCache(f, clk, Config{ReadTimeout: 20 * time.Millisecond})
	_, err := c.Source(testProfile).Token(context.Background())
	if !errors.Is(err, ErrReadFailed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Token(%q) with a hung SSM = %v; want ErrReadFailed wrapping context.DeadlineExceeded", testProfile, err)
	}
}

func TestInvalidate(t *testing.T) {
	tests := []struct {
		name      string
		advance   time.Duration // after the first read
		drop      []string      // tokens passed to Invalidate, in order
		want      []bool
		wantToken string // Token afterwards
	}{
		{"the cached token", DefaultMinReadInterval, []string{"token-1"}, []bool{true}, "token-2"},
		{"another token", DefaultMinReadInterval, []string{"token-0"}, []bool{false}, "token-1"},
		{"empty token", DefaultMinReadInterval, []string{""}, []bool{false}, "token-1"},
		{"twice", DefaultMinReadInterval, []string{"token-1", "token-1"}, []bool{true, false}, "token-2"},
		{"read a second ago", time.Second, []string{"token-1"}, []bool{true}, "token-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			f.put(t, testProfile, "token-1", t0, time.Hour)
			c, _ := newTestCache(f, clk, Config{})
			src := c.Source(testProfile)
			mustToken(t, c, testProfile)
			f.put(t, testProfile, "token-2", t0, time.Hour)
			clk.Advance(tt.advance)
			for i, tok := range tt.drop {
				if got := src.Invalidate(tok); got != tt.want[i] {
					t.Errorf("Invalidate(%q) #%d = %v; want %v", tok, i+1, got, tt.want[i])
				}
			}
			if got := mustToken(t, c, testProfile); got != tt.wantToken {
				t.Errorf("Token(%q) = %q; want %q", testProfile, got, tt.wantToken)
			}
		})
	}
	t.Run("same token back, rejected again", func(t *testing.T) {
		// The provider rejects token-1 but the rotator has not replaced it:
		// the first rejection re-reads once; repeats within MinReadInterval
		// of that read do not, so a partner API rejecting everything cannot
		// turn each request into an SSM read.
		f, clk := newFakeSSM(), newClock()
		f.put(t, testProfile, "token-1", t0, time.Hour)
		c, _ := newTestCache(f, clk, Config{})
		src := c.Source(testProfile)
		mustToken(t, c, testProfile)
		if !src.Invalidate("token-1") {
			t.Fatal("first Invalidate(token-1) = false; want true")
		}
		if got := mustToken(t, c, testProfile); got != "token-1" || f.Reads() != 2 {
			t.Fatalf("Token after first rejection = %q with %d reads; want token-1 from a second read", got, f.Reads())
		}
		for i := 0; i < 5; i++ {
			if src.Invalidate("token-1") {
				t.Fatalf("repeat Invalidate(token-1) #%d = true; want false within MinReadInterval", i+1)
			}
			mustToken(t, c, testProfile)
		}
		if got := f.Reads(); got != 2 {
			t.Errorf("reads after repeated rejections = %d; want 2", got)
		}
		clk.Advance(DefaultMinReadInterval)
		f.put(t, testProfile, "token-2", t0, time.Hour)
		if !src.Invalidate("token-1") {
			t.Fatal("Invalidate(token-1) after MinReadInterval = false; want true")
		}
		if got := mustToken(t, c, testProfile); got != "token-2" {
			t.Errorf("Token = %q; want token-2", got)
		}
	})
	t.Run("nothing cached", func(t *testing.T) {
		c := New(newFakeSSM(), Config{})
		if c.Source(testProfile).Invalidate("token-1") {
			t.Errorf("Invalidate(%q) on an empty cache = true; want false", "token-1")
		}
	})
}

func TestInvalidateBurstCausesOneRead(t *testing.T) {
	const callers = 20
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	c, _ := newTestCache(f, clk, Config{})
	src := c.Source(testProfile)
	mustToken(t, c, testProfile)
	f.put(t, testProfile, "token-2", t0, time.Hour)
	clk.Advance(time.Minute)

	var wg sync.WaitGroup
	var mu sync.Mutex
	dropped := 0
	for range callers {
		wg.Go(func() {
			ok := src.Invalidate("token-1") // every caller was rejected with token-1
			tok, err := src.Token(context.Background())
			mu.Lock()
			defer mu.Unlock()
			if ok {
				dropped++
			}
			if err != nil || tok != "token-2" {
				t.Errorf("Token() = %q, %v; want %q", tok, err, "token-2")
			}
		})
	}
	wg.Wait()
	if dropped != 1 {
		t.Errorf("Invalidate calls that dropped the token = %d; want 1", dropped)
	}
	if n := f.Reads(); n != 2 {
		t.Errorf("GetParameter calls = %d; want 2 (first read and one re-read)", n)
	}
}

func TestStatsSub(t *testing.T) {
	a := Stats{Hits: 10, Misses: 4, StaleServed: 2, ReadErrors: 1, Reads: 3}
	b := Stats{Hits: 7, Misses: 3, StaleServed: 2, ReadErrors: 0, Reads: 2}
	if got, want := a.Sub(b), (Stats{Hits: 3, Misses: 1, Reads: 1, ReadErrors: 1}); got != want {
		t.Errorf("Sub = %+v; want %+v", got, want)
	}
}

func TestNewPanicsOnNilClient(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(nil, Config{}) did not panic")
		}
	}()
	New(nil, Config{})
}

// TestMaxAgeSpread checks that processes started together, which read the
// record together, read it again spread over the last fifth of MaxAge
// rather than all at once.
func TestMaxAgeSpread(t *testing.T) {
	const n = 200
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, 24*time.Hour)
	caches := make([]*Cache, n)
	for i := range caches {
		caches[i], _ = newTestCache(f, clk, Config{})
		mustToken(t, caches[i], testProfile)
	}
	reread := func() int {
		before := f.Reads()
		for _, c := range caches {
			mustToken(t, c, testProfile)
		}
		return f.Reads() - before
	}
	for _, tt := range []struct {
		at     time.Duration
		lo, hi int
	}{
		{DefaultMaxAge*4/5 - time.Second, 0, 0},                      // before the spread: no read
		{DefaultMaxAge * 9 / 10, n / 5, n * 4 / 5},                   // halfway: about half (far from all)
		{DefaultMaxAge, n - n*4/5, n},                                // the rest, by the maximum age
		{DefaultMaxAge*9/10 + DefaultMaxAge*4/5 - time.Second, 0, 0}, // none of them before 4/5 of its own age
	} {
		clk.Advance(tt.at - clk.Now().Sub(t0))
		if got := reread(); got < tt.lo || got > tt.hi {
			t.Errorf("reads at +%s = %d of %d caches; want %d to %d", tt.at, got, n, tt.lo, tt.hi)
		}
	}
}

// throttlingSSM throttles the first n reads as SSM does past its rate.
type throttlingSSM struct {
	*fakeSSM
	n atomic.Int64
}

func (f *throttlingSSM) GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if f.n.Add(-1) >= 0 {
		// As the SDK's standard retryer gives up: attempts exhausted.
		return nil, &retry.MaxAttemptsError{Attempt: 3, Err: &smithy.OperationError{ServiceID: "SSM", OperationName: "GetParameter",
			Err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}}}
	}
	return f.fakeSSM.GetParameter(ctx, in, opts...)
}

// TestThrottledReadBacksOff checks that a read SSM throttles is tried again
// after jittered, growing waits within ReadTimeout, and fails only when the
// timeout leaves no time for the next wait.
func TestThrottledReadBacksOff(t *testing.T) {
	var waits []time.Duration
	sleepFor = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	jitter = func() float64 { return 0.5 }
	t.Cleanup(func() {
		sleepFor = defaultSleep
		jitter = rand.Float64
	})
	for _, tt := range []struct {
		name      string
		throttles int64
		timeout   time.Duration
		wantToken bool
		wantWaits []time.Duration
	}{
		{"served after 5 throttled calls", 5, 0, true,
			[]time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond}},
		{"backoff capped at 1 s (waits 0.5 s with this jitter)", 7, 0, true,
			[]time.Duration{50, 100, 200, 400, 500, 500, 500}},
		{"no time left in the read timeout: fails", 100, 2 * time.Second, false,
			[]time.Duration{50, 100, 200, 400, 500, 500}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			waits = nil
			f := &throttlingSSM{fakeSSM: newFakeSSM()}
			f.put(t, testProfile, "token-1", t0, time.Hour)
			f.n.Store(tt.throttles)
			c := New(f, Config{Now: newClock().Now, ReadTimeout: tt.timeout, Logger: slog.New(slog.DiscardHandler)})
			tok, err := c.Source(testProfile).Token(context.Background())
			if tt.wantToken && (err != nil || tok != "token-1") {
				t.Fatalf("Token = %q, %v; want token-1", tok, err)
			}
			if !tt.wantToken && (!errors.Is(err, ErrReadFailed) || !strings.Contains(err.Error(), "ThrottlingException")) {
				t.Fatalf("Token = %q, %v; want ErrReadFailed naming the throttling", tok, err)
			}
			want := tt.wantWaits
			if want[0] < time.Millisecond {
				for i := range want {
					want[i] *= time.Millisecond
				}
			}
			if fmt.Sprint(waits) != fmt.Sprint(want) {
				t.Errorf("waits %v; want %v", waits, want)
			}
			// Every throttled call waits but the last of a failed read;
			// a served read ends with its one good call.
			wantThrottled, wantReads := uint64(len(want)), uint64(len(want))+1
			if !tt.wantToken {
				wantThrottled++
			}
			if st := c.Stats(); st.Throttled != wantThrottled || st.Reads != wantReads {
				t.Errorf("Stats = %+v; want %d throttled of %d reads", st, wantThrottled, wantReads)
			}
		})
	}
}
