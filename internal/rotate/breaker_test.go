package rotate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// manyOn returns n copies of base named prefix-i.
func manyOn(base profile.Profile, prefix string, n int) []profile.Profile {
	var ps []profile.Profile
	for i := 0; i < n; i++ {
		p := base
		p.Name = fmt.Sprintf("%s-%d", prefix, i)
		p.Parameter = tokenrecord.ParameterName("", p.Name)
		ps = append(ps, p)
	}
	return ps
}

func TestDownEndpointDoesNotStarveOthers(t *testing.T) {
	h := newHarness(t)
	caas, partner := h.r.Profiles[0], h.r.Profiles[2]
	h.r.Profiles = append(manyOn(caas, "caas", 6), manyOn(partner, "partner", 2)...)
	h.r.Concurrency = 1
	h.fetch.fail[caas.TokenURL] = &oauth.Error{StatusCode: 503, Retryable: true, Attempts: 4}
	sum, err := h.run(t, Request{})
	if err == nil || len(sum.Failed) != 6 || len(sum.Refreshed) != 2 {
		t.Fatalf("Run = %d failed, %d refreshed, %v; want the 6 caas profiles failed and both partner ones refreshed", len(sum.Failed), len(sum.Refreshed), err)
	}
	if got := h.fetch.calls.Load(); got != breakerThreshold+2 {
		t.Errorf("token requests = %d; want %d to the down host, then 2 to the partner", got, breakerThreshold)
	}
	fast := 0
	for _, o := range sum.Failed {
		if strings.HasPrefix(o.Reason, "not requested: 2 other profiles of auth.example failed in this run") {
			fast++
		}
	}
	if fast != 6-breakerThreshold {
		t.Errorf("profiles failed without a request = %d; want %d (reasons: %+v)", fast, 6-breakerThreshold, sum.Failed)
	}
}

func TestClientErrorsDoNotTripTheBreaker(t *testing.T) {
	h := newHarness(t)
	h.r.Profiles = manyOn(h.r.Profiles[0], "caas", 4)
	h.r.Concurrency = 1
	h.fetch.fail[h.r.Profiles[0].TokenURL] = &oauth.Error{StatusCode: 401, Code: "invalid_client", Attempts: 1}
	if _, err := h.run(t, Request{}); err == nil {
		t.Fatal("Run = nil; want the 401s reported")
	}
	if got := h.fetch.calls.Load(); got != 4 {
		t.Errorf("token requests = %d; want 4: a 4xx is about the profile, every profile is tried", got)
	}
}

// TestReReadFailureFailsOnlyItsBatch: with 12 due profiles the re-read
// under the lease takes two batches; the second failing fails its 2
// profiles only, naming the cause, and the first batch's 10 are refreshed.
func TestReReadFailureFailsOnlyItsBatch(t *testing.T) {
	h := newHarness(t)
	var ps []profile.Profile
	for i := range 12 {
		p := h.r.Profiles[2] // partner
		p.Name = fmt.Sprintf("partner-%02d", i)
		p.Parameter = "/oauth-tokens/" + p.Name
		ps = append(ps, p)
	}
	h.r.Profiles = ps
	h.store.failRead = func(n int) error {
		if n == 3 { // the run's first read, then the re-read batches
			return fmt.Errorf("tokenstore: get parameters /oauth-tokens/partner-10,/oauth-tokens/partner-11: %w", errBoom)
		}
		return nil
	}
	sum, err := h.run(t, Request{})
	if err == nil || len(sum.Refreshed) != 10 || len(sum.Failed) != 2 {
		t.Fatalf("Run = %d refreshed, %d failed, %v; want 10 refreshed and the second batch's 2 failed", len(sum.Refreshed), len(sum.Failed), err)
	}
	for _, o := range sum.Failed {
		if o.Reason != "re-read the stored records under the lease: "+errBoom.Error() {
			t.Errorf("%s failed for %q; want the re-read and its cause, without the batch's names", o.Profile, o.Reason)
		}
	}
	if got := h.fetch.calls.Load(); got != 10 {
		t.Errorf("token requests = %d; want 10 (none for the unread batch)", got)
	}
}

func TestReReadFailureUnderLeaseFails(t *testing.T) {
	h := newHarness(t)
	h.store.failRead = func(n int) error {
		if n > 1 { // the run's first read works; re-reads under the lease fail
			return errBoom
		}
		return nil
	}
	sum, err := h.run(t, Request{})
	if err == nil || len(sum.Failed) != 3 || h.fetch.calls.Load() != 0 {
		t.Fatalf("Run = %+v, %v with %d fetches; want every profile failed without a token request", sum, err, h.fetch.calls.Load())
	}
	if !strings.Contains(sum.Failed[0].Reason, "re-read the stored records under the lease") {
		t.Errorf("reason = %q", sum.Failed[0].Reason)
	}
}

func TestSummaryListsAreNeverNull(t *testing.T) {
	h := newHarness(t)
	sum, err := h.run(t, Request{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sum)
	if !strings.Contains(string(b), `"skipped":[]`) || !strings.Contains(string(b), `"failed":[]`) {
		t.Errorf("summary JSON = %s; want empty lists as []", b)
	}
}

// TestForcedRunAfterAFailedFirstReadStillRefreshes: a forced run whose
// first read of the records failed has nothing to compare the re-read
// under the lease with, so it must not take every existing record for one
// a concurrent run just wrote.
func TestForcedRunAfterAFailedFirstReadStillRefreshes(t *testing.T) {
	h := newHarness(t)
	if _, err := h.run(t, Request{}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	calls, reads := h.fetch.calls.Load(), h.store.reads
	h.store.failRead = func(n int) error {
		if n == reads+1 { // the forced run's first read
			return errBoom
		}
		return nil
	}
	sum, err := h.run(t, Request{Force: true})
	if err != nil || len(sum.Refreshed) != 3 || h.fetch.calls.Load() != calls+3 {
		t.Fatalf("forced run = %+v, %v, %d token requests; want all 3 refreshed", sum, err, h.fetch.calls.Load()-calls)
	}
}

// TestLeaseErrorFailsTheDueProfiles: a lease that cannot be taken (not
// held by another run: the call itself fails) fails every due profile with
// the error, fetches nothing and writes nothing.
func TestLeaseErrorFailsTheDueProfiles(t *testing.T) {
	h := newHarness(t)
	h.store.leaseErr = errors.New("tokenstore: lease /oauth-tokens/.rotator.lock: AccessDeniedException")
	sum, err := h.run(t, Request{})
	if err == nil || len(sum.Failed) != 3 || h.fetch.calls.Load() != 0 || h.store.writes != 0 {
		t.Fatalf("Run = %+v, %v, %d fetches, %d writes; want all 3 failed, nothing fetched or written", sum, err, h.fetch.calls.Load(), h.store.writes)
	}
	for _, o := range sum.Failed {
		if !strings.Contains(o.Reason, "AccessDeniedException") {
			t.Errorf("%s failed for %q; want the lease error", o.Profile, o.Reason)
		}
	}
}

// TestWorkUnderTheLeaseEndsBeforeIt: work under a lease ends at 7/8 of it,
// counted from before Lease, and token requests at 3/4.
func TestWorkUnderTheLeaseEndsBeforeIt(t *testing.T) {
	budgetFailures := func(sum Summary) int {
		n := 0
		for _, o := range sum.Failed {
			if strings.Contains(o.Reason, "the run's lease is about to expire") {
				n++
			}
		}
		return n
	}
	t.Run("token requests start only with a whole request timeout left, and end with it", func(t *testing.T) {
		h := newHarness(t)
		// Token requests end at 300 ms: the first starts at once and is cut
		// off by its own 200 ms timeout; then less than 200 ms is left.
		h.r.LeaseTTL, h.r.Concurrency = 400*time.Millisecond, 1
		h.fetch.delay, h.fetch.timeout = time.Second, 200*time.Millisecond
		sum, err := h.run(t, Request{})
		if err == nil || len(sum.Failed) != 1 || len(sum.Deferred) != 2 || h.store.writes != 0 || h.fetch.maxFlight.Load() != 1 {
			t.Fatalf("Run = %+v, %v, %d writes; want the first request cut off by its timeout (failed), the other two not started (deferred), nothing written", sum, err, h.store.writes)
		}
		for _, o := range sum.Deferred {
			if !strings.Contains(o.Reason, "less than a whole request timeout (200ms, ROTATOR_REQUEST_TIMEOUT)") {
				t.Errorf("%s deferred: %q; want the request timeout named", o.Profile, o.Reason)
			}
		}
	})
	t.Run("a Lease slower than the lease leaves nothing to do and no release", func(t *testing.T) {
		h := newHarness(t)
		h.r.LeaseTTL, h.store.leaseDelay = 80*time.Millisecond, 100*time.Millisecond
		sum, err := h.run(t, Request{})
		if err == nil || budgetFailures(sum) != 3 || h.fetch.calls.Load() != 0 || h.store.writes != 0 {
			t.Fatalf("Run = %+v, %v, %d fetches; want all 3 failed for the lease budget, nothing fetched or written", sum, err, h.fetch.calls.Load())
		}
		if !h.store.leases[h.r.Lease] {
			t.Error("the lease was released after its end; want it left to expire")
		}
	})
}

// leaseHook runs hook once before the first Lease.
type leaseHook struct {
	*memStore
	once sync.Once
	hook func()
}

func (l *leaseHook) Lease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (func(context.Context), error) {
	l.once.Do(l.hook)
	return l.memStore.Lease(ctx, name, owner, now, ttl)
}

// TestForcedRunAfterAFailedFirstReadSkipsWhatAnotherRunJustIssued: such a
// run has only the record's issue time to go by; a token issued since the
// run began is another run's, not to be fetched again.
func TestForcedRunAfterAFailedFirstReadSkipsWhatAnotherRunJustIssued(t *testing.T) {
	h := newHarness(t)
	if _, err := h.run(t, Request{}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	reads := h.store.reads
	h.store.failRead = func(n int) error {
		if n == reads+1 { // the forced run's first read
			return errBoom
		}
		return nil
	}
	// Between that read and its lease, another run refreshes partner.
	h.r.Store = &leaseHook{memStore: h.store, hook: func() {
		other := *h.r
		other.Store = h.store
		if _, err := other.Run(context.Background(), Request{Force: true, Profiles: []string{"partner"}}); err != nil {
			t.Error(err)
		}
	}}
	calls := h.fetch.calls.Load()
	sum, err := h.run(t, Request{Force: true})
	if err != nil || names(sum.Refreshed) != "caas-42,caas-43" || names(sum.Skipped) != "partner" {
		t.Fatalf("forced run = %+v, %v; want caas-42 and caas-43 refreshed, partner skipped (issued during this run)", sum, err)
	}
	if got := h.fetch.calls.Load() - calls; got != 3 {
		t.Errorf("token requests = %d; want 3 (partner once, by the other run)", got)
	}
}

// deadlines records the deadline of the context of each token request and
// each record write.
type deadlines struct {
	mu           sync.Mutex
	fetch, write []time.Time
}

type deadlineFetcher struct {
	Fetcher
	d *deadlines
}

func (f deadlineFetcher) Fetch(ctx context.Context, r oauth.Request) (oauth.Token, error) {
	dl, _ := ctx.Deadline()
	f.d.mu.Lock()
	f.d.fetch = append(f.d.fetch, dl)
	f.d.mu.Unlock()
	return f.Fetcher.Fetch(ctx, r)
}

type deadlineStore struct {
	*memStore
	d *deadlines
}

func (s deadlineStore) Write(ctx context.Context, name string, rec tokenrecord.Record) (int64, error) {
	dl, _ := ctx.Deadline()
	s.d.mu.Lock()
	s.d.write = append(s.d.write, dl)
	s.d.mu.Unlock()
	return s.memStore.Write(ctx, name, rec)
}

// TestATokenFetchedInTimeHasTimeToBeStored: token requests end at 3/4 of
// the lease and writes at 7/8, so a token that arrives just before its
// request's deadline is not lost to a write cancelled with it.
func TestATokenFetchedInTimeHasTimeToBeStored(t *testing.T) {
	h := newHarness(t)
	d := &deadlines{}
	h.r.LeaseTTL = 8 * time.Minute
	h.r.Fetcher = deadlineFetcher{Fetcher: h.fetch, d: d}
	h.r.Store = deadlineStore{memStore: h.store, d: d}
	if _, err := h.run(t, Request{}); err != nil {
		t.Fatal(err)
	}
	if len(d.fetch) != 3 || len(d.write) != 3 {
		t.Fatalf("%d fetches, %d writes; want 3 each", len(d.fetch), len(d.write))
	}
	for i := range d.fetch {
		if gap := d.write[i].Sub(d.fetch[i]); gap != time.Minute {
			t.Errorf("write deadline - token request deadline = %s; want 1m (1/8 of the lease)", gap)
		}
	}
}
