package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// seed stores a record for p that expires in left (from the harness clock),
// or an unreadable value when left is 0.
func (h *harness) seed(t *testing.T, name string, left time.Duration) {
	t.Helper()
	if left == 0 {
		h.store.values[tokenrecord.ParameterName("", name)] = "not a record"
		return
	}
	now := h.clock.Now()
	i := slices.IndexFunc(h.r.Profiles, func(p profile.Profile) bool { return p.Name == name })
	b, err := tokenrecord.Marshal(tokenrecord.Record{AccessToken: "seeded-" + name + "-xxxxxxxxxxxx", TokenType: "Bearer",
		Profile: name, IssuedAt: now.Add(left - 24*time.Hour), ExpiresAt: now.Add(left), Fingerprint: fingerprint(h.r.Profiles[i], "aviv-id")})
	if err != nil {
		t.Fatal(err)
	}
	h.store.values[tokenrecord.ParameterName("", name)] = string(b)
	h.store.versions[tokenrecord.ParameterName("", name)] = 1
}

// budgetHarness has n profiles p-0 … p-(n-1) and a write budget of slots
// write slots: a 16 s lease (slots until 11 s) at one write every 10.5/slots
// seconds, on a Sleep that returns at once.
func budgetHarness(t *testing.T, n, slots int) *harness {
	h := newHarness(t)
	h.r.Profiles = manyOn(h.r.Profiles[0], "p", n)
	h.r.LeaseTTL = 16 * time.Second
	h.r.WriteRate = float64(slots) / 10.5 / writeShare
	h.r.Concurrency = 1
	h.r.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return h
}

func outcomeNames(os []Outcome) []string {
	var s []string
	for _, o := range os {
		s = append(s, o.Profile)
	}
	slices.Sort(s)
	return s
}

// TestWriteBudgetMostUrgentFirst checks that a run requests tokens only for
// the profiles its write budget can store, most urgent first (missing and
// unreadable records, then the nearest expiry), and defers the rest without
// a token request and without failing.
func TestWriteBudgetMostUrgentFirst(t *testing.T) {
	h := budgetHarness(t, 8, 5)
	for name, left := range map[string]time.Duration{
		"p-0": 14 * time.Minute, "p-1": 8 * time.Minute, "p-3": 6 * time.Minute, "p-4": 0,
		"p-5": 13 * time.Minute, "p-7": 20 * time.Hour, // p-2 and p-6 have no record; p-7 is not due
	} {
		h.seed(t, name, left)
	}
	sum, err := h.run(t, Request{})
	if err != nil {
		t.Fatalf("Run = %v; want no error (deferring is not failing)", err)
	}
	if got, want := outcomeNames(sum.Refreshed), []string{"p-1", "p-2", "p-3", "p-4", "p-6"}; !slices.Equal(got, want) {
		t.Errorf("refreshed %v; want %v (missing and unreadable, then nearest expiry)", got, want)
	}
	if got, want := outcomeNames(sum.Deferred), []string{"p-0", "p-5"}; !slices.Equal(got, want) {
		t.Errorf("deferred %v; want %v", got, want)
	}
	if got := outcomeNames(sum.Skipped); !slices.Equal(got, []string{"p-7"}) {
		t.Errorf("skipped %v; want [p-7]", got)
	}
	if n := h.fetch.calls.Load(); n != 5 {
		t.Errorf("%d token requests; want 5 (none for a deferred profile)", n)
	}
	if h.store.writes != 5 {
		t.Errorf("%d writes; want 5", h.store.writes)
	}
	for _, o := range sum.Deferred {
		if !strings.Contains(o.Reason, "PutParameter budget") || !strings.Contains(o.Reason, "no token was requested") || o.ExpiresAt == nil {
			t.Errorf("deferred %s: reason %q, expiry %v; want the budget named and the stored expiry", o.Profile, o.Reason, o.ExpiresAt)
		}
	}
	if !strings.Contains(h.logs.String(), `"level":"WARN","msg":"profile deferred"`) {
		t.Errorf("no WARN log line for a deferred profile:\n%s", h.logs)
	}
	// The next run takes the deferred ones.
	sum, err = h.run(t, Request{})
	if err != nil || !slices.Equal(outcomeNames(sum.Refreshed), []string{"p-0", "p-5"}) || len(sum.Deferred) != 0 {
		t.Errorf("next run = %+v, %v; want p-0 and p-5 refreshed", sum, err)
	}
}

// TestDeferredPastNextRunFails checks that a deferred profile whose stored
// token expires before the next run is a failure that names the quota.
func TestDeferredPastNextRunFails(t *testing.T) {
	for _, tt := range []struct {
		name     string
		interval time.Duration
		fail     bool
	}{
		{"expires before the next run (default 5 min)", 0, true},
		{"next run in 1 min, and 1 min of skew, before it expires", time.Minute, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := budgetHarness(t, 2, 1)
			h.r.Interval = tt.interval
			h.seed(t, "p-1", 3*time.Minute) // p-0 has no record: it goes first
			sum, err := h.run(t, Request{})
			if !slices.Equal(outcomeNames(sum.Refreshed), []string{"p-0"}) {
				t.Fatalf("refreshed %v; want [p-0]", outcomeNames(sum.Refreshed))
			}
			var re *RunError
			switch {
			case tt.fail && (!errors.As(err, &re) || len(sum.Failed) != 1 || len(sum.Deferred) != 0):
				t.Fatalf("Run = %+v, %v; want p-1 failed", sum, err)
			case tt.fail:
				reason := sum.Failed[0].Reason
				for _, want := range []string{"PutParameter budget", "before the next run", "higher throughput"} {
					if !strings.Contains(reason, want) {
						t.Errorf("reason %q; want it to say %q", reason, want)
					}
				}
			case err != nil || len(sum.Deferred) != 1:
				t.Fatalf("Run = %+v, %v; want p-1 deferred", sum, err)
			}
			if n := h.fetch.calls.Load(); n != 1 {
				t.Errorf("%d token requests; want 1", n)
			}
		})
	}
}

// TestParameterLimitStopsNewParameters checks that once a write meets the
// account's parameter limit, no token is requested for another profile that
// would need a new parameter, while profiles with a record are refreshed.
func TestParameterLimitStopsNewParameters(t *testing.T) {
	h := budgetHarness(t, 3, 100)
	h.seed(t, "p-0", 10*time.Minute)
	h.store.newErr = fmt.Errorf("tokenstore: put /p-1: %w", tokenstore.ErrParameterLimit)
	sum, err := h.run(t, Request{})
	if err == nil || len(sum.Failed) != 2 || !slices.Equal(outcomeNames(sum.Refreshed), []string{"p-0"}) {
		t.Fatalf("Run = %+v, %v; want p-1 and p-2 failed, p-0 refreshed", sum, err)
	}
	if n := h.fetch.calls.Load(); n != 2 {
		t.Errorf("%d token requests; want 2 (p-1, whose write met the limit, and p-0; not p-2)", n)
	}
	for _, o := range sum.Failed {
		if !strings.Contains(o.Reason, "10,000") || !strings.Contains(o.Reason, "advanced tier") {
			t.Errorf("%s: reason %q; want the 10,000 limit and what to do", o.Profile, o.Reason)
		}
	}
}

func TestLeaseTTL(t *testing.T) {
	soon, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tt := range []struct {
		name   string
		r      Rotator
		ctx    context.Context
		n      int
		lo, hi time.Duration
	}{
		{"few writes: the 2 min floor", Rotator{}, context.Background(), 10, DefaultLeaseTTL, DefaultLeaseTTL},
		{"1,000 writes at 0.9 x 3/s: 1001/2.7 s x 16/11 + 30 s", Rotator{}, context.Background(), 1000, 569 * time.Second, 570 * time.Second},
		{"1,000 writes at 0.9 x 10/s", Rotator{WriteRate: 10}, context.Background(), 1000, 191 * time.Second, 192 * time.Second},
		{"within the run's deadline", Rotator{}, soon, 1000, 55 * time.Second, time.Minute},
		{"LeaseTTL set", Rotator{LeaseTTL: time.Hour}, context.Background(), 1000, time.Hour, time.Hour},
		{"LeaseTTL set, within the run's deadline", Rotator{LeaseTTL: time.Hour}, soon, 1000, 55 * time.Second, time.Minute},
		{"unpaced", Rotator{WriteRate: -1}, context.Background(), 1000, DefaultLeaseTTL, DefaultLeaseTTL},
	} {
		if got := tt.r.leaseTTL(tt.ctx, tt.n); got < tt.lo || got > tt.hi {
			t.Errorf("%s: leaseTTL(%d) = %s; want %s to %s", tt.name, tt.n, got, tt.lo, tt.hi)
		}
	}
}

// TestThrottledWriteIsRetried checks that a fetched token whose write is
// still throttled after the SDK's retries is written again while the write
// deadline allows, not lost; other errors are not retried.
func TestThrottledWriteIsRetried(t *testing.T) {
	h := budgetHarness(t, 1, 1)
	h.store.throttles = 5
	sum, err := h.run(t, Request{})
	if err != nil || len(sum.Refreshed) != 1 || h.fetch.calls.Load() != 1 || h.store.writes != 1 {
		t.Fatalf("Run = %+v, %v, %d fetches, %d writes; want p-0 refreshed with one token request", sum, err, h.fetch.calls.Load(), h.store.writes)
	}
	h = budgetHarness(t, 1, 1)
	h.store.writeErr = errBoom
	if sum, err := h.run(t, Request{}); err == nil || len(sum.Failed) != 1 {
		t.Fatalf("Run with a failing store = %+v, %v; want p-0 failed", sum, err)
	}
}

// TestDeferredNotDueFails checks that a forced profile the budget cannot
// take is a failure that says to invoke again, not a deferral: a scheduled
// run would not refresh a token that is not due.
func TestDeferredNotDueFails(t *testing.T) {
	h := budgetHarness(t, 3, 1)
	for _, name := range []string{"p-0", "p-1", "p-2"} {
		h.seed(t, name, 20*time.Hour)
	}
	sum, err := h.run(t, Request{Force: true})
	var re *RunError
	if !errors.As(err, &re) || len(sum.Refreshed) != 1 || len(sum.Failed) != 2 || len(sum.Deferred) != 0 {
		t.Fatalf("Run(force) = %+v, %v; want 1 refreshed and 2 failed", sum, err)
	}
	for _, o := range sum.Failed {
		if !strings.Contains(o.Reason, "PutParameter budget") || !strings.Contains(o.Reason, `invoke the rotator again with {"force": true, "profiles": ["`+o.Profile+`"]}`) {
			t.Errorf("%s: reason %q; want the budget and the invocation that finishes the job", o.Profile, o.Reason)
		}
	}
	if n := h.fetch.calls.Load(); n != 1 {
		t.Errorf("%d token requests; want 1", n)
	}
}

// TestDeferredPastLongLeaseFails checks that the next run is counted from
// the end of this run's lease when the lease outlasts the schedule's
// interval: the scheduled events wait behind the run.
func TestDeferredPastLongLeaseFails(t *testing.T) {
	h := budgetHarness(t, 2, 1)
	h.r.LeaseTTL = 10 * time.Minute // slots until 6 min 52 s
	h.r.WriteRate = 1.0 / 240       // planned at 0.9 of it: one slot, at 4 min 27 s
	h.seed(t, "p-1", 8*time.Minute) // p-0 has no record: it goes first
	sum, err := h.run(t, Request{})
	if err == nil || len(sum.Failed) != 1 || sum.Failed[0].Profile != "p-1" {
		t.Fatalf("Run = %+v, %v; want p-1 failed (its token expires before this lease ends)", sum, err)
	}
	if !strings.Contains(sum.Failed[0].Reason, "before the next run") {
		t.Errorf("reason %q; want it to say the token expires before the next run", sum.Failed[0].Reason)
	}
}

// TestLateSlotsDeferred checks that when token requests fall behind the
// write schedule (a slow endpoint for the run's concurrency), the profiles
// whose slot has long passed are deferred without a token request instead
// of fetched late and written in a burst.
func TestLateSlotsDeferred(t *testing.T) {
	h := budgetHarness(t, 4, 4)
	h.r.WriteRate = 1000 // slots about 1 ms apart
	h.fetch.delay = 50 * time.Millisecond
	lateSlot = 20 * time.Millisecond
	t.Cleanup(func() { lateSlot = 10 * time.Second })
	sum, err := h.run(t, Request{})
	if err != nil || len(sum.Refreshed) != 1 || len(sum.Deferred) != 3 {
		t.Fatalf("Run = %+v, %v; want 1 refreshed and 3 deferred", sum, err)
	}
	for _, o := range sum.Deferred {
		if !strings.Contains(o.Reason, "behind its PutParameter schedule") {
			t.Errorf("%s: reason %q; want it to say the requests fell behind", o.Profile, o.Reason)
		}
	}
	if n := h.fetch.calls.Load(); n != 1 {
		t.Errorf("%d token requests; want 1", n)
	}
}
