package rotate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// TestExplicitLeaseTTLWithinRunDeadline: a LeaseTTL longer than the run's
// context is cut to the context's deadline, as a sized lease is, so no
// write slot is planned past the deadline and no token is fetched that
// its write could not store.
func TestExplicitLeaseTTLWithinRunDeadline(t *testing.T) {
	h := budgetHarness(t, 12, 1)
	h.r.LeaseTTL = 10 * time.Minute
	h.r.WriteRate = 3 // slots 0.37 s apart; tokens requested 2 s before theirs
	h.r.Sleep = nil   // the real clock: the deadline is real
	h.r.Concurrency = 16
	h.fetch.timeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sum, _ := h.r.Run(ctx, Request{})
	fetched, stored := h.fetch.calls.Load(), int64(h.store.writes)
	if fetched != stored || stored == 0 {
		t.Fatalf("LeaseTTL 10m on a 2 s run: %d tokens fetched, %d stored (%d lost); want every fetched token stored, and some (summary %+v)",
			fetched, stored, fetched-stored, sum)
	}
	if got := h.r.leaseTTL(ctx, 12); got > 2*time.Second {
		t.Errorf("leaseTTL with LeaseTTL 10m on a 2 s context = %s; want at most the 2 s left", got)
	}
}

// TestSlowEndpointNearTheLeaseEnd runs the rotator with the real token
// client against an endpoint that issues each token at once but answers
// 3 s later, with a 4 s request timeout, under an 8 s lease (token
// requests end at 6 s) with write slots 1.05 s apart: the fifth profile's
// token, requested 2 s before its slot at 5.25 s, would come back after the
// requests' end. Every token the endpoint issues must be stored.
func TestSlowEndpointNearTheLeaseEnd(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.PartnerAPI)
	defer srv.Close()
	srv.AddClient("partner-id", secretValue+"-p")
	srv.SetSlowAnswer(3 * time.Second)
	var doc strings.Builder
	doc.WriteString("profiles:\n")
	for i := range 5 {
		fmt.Fprintf(&doc, "  - name: p-%d\n    token_url: %s\n    secret_id: clients/partner\n    headers: {Accept: application/json}\n", i, srv.TokenURL("partner"))
	}
	ps, err := profile.Parse([]byte(doc.String()), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.r.Profiles, h.r.Fetcher = ps, &oauth.Client{RequestTimeout: 4 * time.Second}
	h.r.LeaseTTL = 8 * time.Second
	h.r.WriteRate = 1 / (1.05 * writeShare) // slots 1.05 s apart
	sum, _ := h.r.Run(context.Background(), Request{})
	issued, stored := len(srv.IssuedTokens()), h.store.writes
	if issued != stored || stored == 0 {
		t.Errorf("the endpoint issued %d tokens, %d were stored; want every issued token stored, and some (summary %+v)", issued, stored, sum)
	}
}

// TestLastSlotLeavesARequestTimeout: with the 2-minute lease floor and the
// default 10 s request timeout, the last write slot's token request (2 s
// before the slot) has a whole request timeout before token requests end
// (3/4 of the lease).
func TestLastSlotLeavesARequestTimeout(t *testing.T) {
	h := budgetHarness(t, 1000, 1)
	h.r.Fetcher = &oauth.Client{}
	h.r.WriteRate = 10 // 1,000 slots would take 111 s: the lease's slots are all taken
	var work []*state
	for _, p := range h.r.Profiles {
		work = append(work, &state{p: p})
	}
	start := time.Now()
	fit := h.r.plan(work, start, DefaultLeaseTTL, &runState{})
	if len(fit) == 0 {
		t.Fatal("plan fit no profile")
	}
	last := fit[len(fit)-1].writeAt
	fetchEnd := start.Add(DefaultLeaseTTL * 3 / 4)
	if left := fetchEnd.Sub(last.Add(-fetchLead)); left < oauth.DefaultRequestTimeout {
		t.Errorf("the last slot's token request starts %s before token requests end; want at least a request timeout (%s)", left.Round(time.Millisecond), oauth.DefaultRequestTimeout)
	}
}

// TestDeferredJudgedByTheNextRunsPlan: a deferral is safe only if the next
// runs, writing the deferred profiles most urgent first at the write rate
// (as many per run as this one), write it at least the consumers' skew
// before its token expires; otherwise it is a failure naming the quota.
// Here two profiles fit per run (slots 5.25 s apart) and ten are deferred,
// all expiring 6.5 minutes on: the next run (5 minutes on) writes two of
// them in time, the other eight would wait for the run after it.
func TestDeferredJudgedByTheNextRunsPlan(t *testing.T) {
	h := budgetHarness(t, 12, 2)
	for i := 2; i < 12; i++ {
		h.seed(t, fmt.Sprintf("p-%d", i), 6*time.Minute+30*time.Second) // p-0 and p-1 have no record: they go first
	}
	sum, err := h.run(t, Request{})
	if len(sum.Refreshed) != 2 || len(sum.Deferred) != 2 || len(sum.Failed) != 8 || err == nil {
		t.Fatalf("Run = %d refreshed, %d deferred, %d failed, %v; want 2, 2 (the next run writes them in time) and 8 (they would wait for the run after)",
			len(sum.Refreshed), len(sum.Deferred), len(sum.Failed), err)
	}
	for _, o := range sum.Failed {
		for _, want := range []string{"PutParameter budget", "more urgent profiles first", "ROTATOR_WRITE_RATE", "higher throughput"} {
			if !strings.Contains(o.Reason, want) {
				t.Errorf("%s failed: %q; want it to say %q", o.Profile, o.Reason, want)
			}
		}
	}
	if n := h.fetch.calls.Load(); n != 2 {
		t.Errorf("%d token requests; want 2", n)
	}
}

// TestNoTimeForARequestIsDeferredUncounted: a profile whose token request
// the Fetcher refused to send for lack of time (oauth.ErrNoTime) is
// deferred, not failed, and counts no token request in the reuse audit.
func TestNoTimeForARequestIsDeferredUncounted(t *testing.T) {
	h := newHarness(t)
	h.fetch.fail["https://partner.example/api/oauth/token"] = &oauth.Error{Err: fmt.Errorf("%w: one may take 10s", oauth.ErrNoTime)}
	sum, err := h.run(t, Request{})
	if err != nil || len(sum.Deferred) != 1 || sum.Deferred[0].Profile != "partner" || len(sum.Refreshed) != 2 {
		t.Fatalf("Run = %+v, %v; want partner deferred, the others refreshed", sum, err)
	}
	if o := sum.Deferred[0]; o.TokenRequest != "" || o.EarlyRequest {
		t.Errorf("deferred partner counts token request %q (early %v); want none: nothing was sent", o.TokenRequest, o.EarlyRequest)
	}
}

// TestRequestTimeoutUpToItsLimit: every request timeout ROTATOR_REQUEST_TIMEOUT
// allows (up to 2 minutes) leaves room for the run's token requests. The
// sized lease grows so that the last write slot's request still has a whole
// timeout before token requests end: with the 2-minute lease floor, a
// timeout from about 88 s on left no slot at all, and every due profile
// was deferred, run after run, for a PutParameter budget.
func TestRequestTimeoutUpToItsLimit(t *testing.T) {
	for _, timeout := range []time.Duration{10 * time.Second, 80 * time.Second, 90 * time.Second, 2 * time.Minute} {
		t.Run(timeout.String(), func(t *testing.T) {
			h := budgetHarness(t, 3, 1)
			h.r.LeaseTTL = 0 // sized to the work, as in the Lambda
			h.r.WriteRate = 3
			h.fetch.timeout = timeout
			// The Lambda's deadline (900 s less the handler's margin).
			ctx, cancel := context.WithTimeout(context.Background(), 895*time.Second)
			defer cancel()
			sum, err := h.r.Run(ctx, Request{})
			if err != nil || len(sum.Refreshed) != 3 {
				t.Fatalf("Run with a %s request timeout = %d refreshed, %d deferred (%v), %v; want the 3 due profiles refreshed",
					timeout, len(sum.Refreshed), len(sum.Deferred), reasons(sum.Deferred), err)
			}
		})
	}
}

// TestNoSlotForARequestTimeoutSaysSo: when the run's lease is cut by its
// deadline so that no whole request fits, the deferral names the request
// timeout (ROTATOR_REQUEST_TIMEOUT), not the PutParameter budget.
func TestNoSlotForARequestTimeoutSaysSo(t *testing.T) {
	h := budgetHarness(t, 2, 1)
	h.r.LeaseTTL = 0
	h.r.WriteRate = 3
	h.r.Interval = time.Hour // the next run's start is not judged here
	h.fetch.timeout = 2 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	sum, _ := h.r.Run(ctx, Request{})
	if len(sum.Refreshed) != 0 || h.fetch.calls.Load() != 0 {
		t.Fatalf("Run with a 2 m request timeout in a 100 s run = %d refreshed, %d requests; want none", len(sum.Refreshed), h.fetch.calls.Load())
	}
	all := append(sum.Deferred, sum.Failed...)
	if len(all) != 2 {
		t.Fatalf("Run = %+v; want both profiles deferred or failed", sum)
	}
	for _, o := range all {
		if !strings.Contains(o.Reason, "ROTATOR_REQUEST_TIMEOUT") || strings.Contains(o.Reason, "PutParameter budget") {
			t.Errorf("%s %s: %q; want the request timeout named (ROTATOR_REQUEST_TIMEOUT), not the PutParameter budget", o.Profile, o.Action, o.Reason)
		}
	}
}

func reasons(os []Outcome) []string {
	var s []string
	for _, o := range os {
		s = append(s, o.Reason)
	}
	return s
}

// TestDeferredAfterALongRun: a run whose lease outlasts the schedule's
// interval holds the scheduled events that arrive meanwhile back (reserved
// concurrency 1 throttles them), and Lambda retries a throttled
// asynchronous invocation with a backoff of up to 5 minutes. So the next
// run may start up to 5 minutes after this one's lease ends, and a
// deferral is judged against that start; a run whose lease ends before the
// next scheduled event is judged against the schedule alone.
func TestDeferredAfterALongRun(t *testing.T) {
	for _, tt := range []struct {
		name     string
		interval time.Duration
		left     time.Duration // the deferred profile's stored token
		fail     bool
	}{
		{"lease outlasts the interval, token expires within the retry backoff", 10 * time.Second, 3 * time.Minute, true},
		{"lease outlasts the interval, token outlasts the retry backoff", 10 * time.Second, 7 * time.Minute, false},
		{"lease within the interval", time.Minute, 3 * time.Minute, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := budgetHarness(t, 2, 1) // a 16 s lease, one write slot
			h.r.Interval = tt.interval
			h.seed(t, "p-1", tt.left) // p-0 has no record: it goes first
			sum, err := h.run(t, Request{})
			if !slices.Equal(outcomeNames(sum.Refreshed), []string{"p-0"}) {
				t.Fatalf("refreshed %v; want [p-0]", outcomeNames(sum.Refreshed))
			}
			switch {
			case tt.fail && (err == nil || len(sum.Failed) != 1 || len(sum.Deferred) != 0):
				t.Fatalf("Run = %d deferred, %d failed, %v; want p-1 failed: the next run may start 5 minutes after this one's lease", len(sum.Deferred), len(sum.Failed), err)
			case !tt.fail && (err != nil || len(sum.Deferred) != 1):
				t.Fatalf("Run = %d deferred, %d failed (%v), %v; want p-1 deferred", len(sum.Deferred), len(sum.Failed), reasons(sum.Failed), err)
			}
		})
	}
}
