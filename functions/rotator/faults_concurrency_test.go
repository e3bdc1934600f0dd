package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// gatedFetcher holds every token request until release is closed, and
// reports each one on started.
type gatedFetcher struct {
	next    rotate.Fetcher
	started chan string
	release chan struct{}
}

func (g *gatedFetcher) Fetch(ctx context.Context, r oauth.Request) (oauth.Token, error) {
	g.started <- r.ClientID
	select {
	case <-g.release:
	case <-ctx.Done():
		return oauth.Token{}, ctx.Err()
	}
	return g.next.Fetch(ctx, r)
}

// watchedStore reports the end of every Lease on leased; when hold is set,
// each Lease first reports on holding and waits for hold to be closed.
type watchedStore struct {
	rotate.Store
	leased  chan error
	holding chan struct{}
	hold    chan struct{}
}

func (w *watchedStore) Lease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (func(context.Context), error) {
	if w.hold != nil {
		w.holding <- struct{}{}
		<-w.hold
	}
	release, err := w.Store.Lease(ctx, name, owner, now, ttl)
	if w.leased != nil {
		w.leased <- err
	}
	return release, err
}

// receive takes n values from ch, failing the test if they do not come
// within a minute (a deadlock guard, not a wait for time to pass).
func receive[T any](t *testing.T, ch <-chan T, n int, what string) []T {
	t.Helper()
	var out []T
	timeout := time.After(time.Minute)
	for len(out) < n {
		select {
		case v := <-ch:
			out = append(out, v)
		case <-timeout:
			t.Fatalf("%s: got %d of %d within a minute", what, len(out), n)
		}
	}
	return out
}

type runResult struct {
	sum rotate.Summary
	err error
}

// concurrentRuns proves against moto that runs at once (a Lambda retry, a
// manual invoke during a scheduled run, another stack on the same prefix)
// never fetch a profile twice: the run lease (PutParameter Overwrite=false
// on <prefix>/.rotator.lock) lets one run fetch while the others skip, and
// the re-read under the lease skips a profile another run has refreshed
// since this one read it. A lease left by a dead run is taken over; a live
// one is respected.
func concurrentRuns(t *testing.T, e *faultEnv) {
	profiles := []string{"x", "y", "z"}
	var doc strings.Builder
	doc.WriteString("profiles:\n")
	for i, p := range profiles {
		e.secret(t, "faults-conc/"+p, "conc-"+p+"-client", fmt.Sprintf("Cn%dQw8Er6Ty4Ui2Op0As9", i))
		doc.WriteString("  - name: " + p + "\n    token_url: " + e.idp.TokenURL("partner") + "\n    secret_id: faults-conc/" + p + "\n    headers: {Accept: application/json}\n")
	}
	prefixes := 0
	newPrefix := func() string { prefixes++; return fmt.Sprintf("/faults/conc-%d", prefixes) }
	// onePerProfile checks that each profile's client made exactly one
	// token request since before.
	onePerProfile := func(t *testing.T, before map[string]int) {
		t.Helper()
		after := e.requestsByClient()
		for _, p := range profiles {
			if n := after["conc-"+p+"-client"] - before["conc-"+p+"-client"]; n != 1 {
				t.Errorf("profile %s: %d token requests; want exactly 1", p, n)
			}
		}
	}
	leaseName := func(prefix string) string { return tokenstore.LeaseName(rotate.RunLease(prefix)) }
	noLeases := func(t *testing.T, prefix string) {
		t.Helper()
		if v := e.raw(t, leaseName(prefix)); v != "" {
			t.Errorf("run lease left behind: %q", v)
		}
		for _, p := range profiles {
			if v := e.raw(t, tokenstore.LeaseName(tokenrecord.ParameterName(prefix, p))); v != "" {
				t.Errorf("a lease of %s: %q; want none (leases are per run)", p, v)
			}
		}
	}

	for _, tt := range []struct {
		name     string
		payloads []string
	}{
		{"three scheduled runs at once", []string{scheduled, scheduled, scheduled}},
		{"a forced run during a scheduled run", []string{`{"force":true}`, scheduled}},
		{"two forced runs at once", []string{`{"force":true}`, `{"force":true,"profiles":["x","y","z"]}`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prefix := newPrefix()
			runs, n := len(tt.payloads), len(profiles)
			gate := &gatedFetcher{next: &oauth.Client{}, started: make(chan string, runs*n), release: make(chan struct{})}
			leased := make(chan error, runs)
			before := e.requestsByClient()
			results := make(chan runResult, runs)
			for _, payload := range tt.payloads {
				// A separate handler per run: a retry may land in another
				// Lambda environment.
				h := e.handler(t, doc.String(), prefix, gate, func(s rotate.Store) rotate.Store { return &watchedStore{Store: s, leased: leased} })
				go func() {
					sum, err := e.invoke(t, h, payload)
					results <- runResult{sum, err}
				}()
			}
			// Every run has tried the lease once, and one run holds it and
			// is fetching every profile.
			receive(t, leased, runs, "lease attempts")
			started := receive(t, gate.started, n, "token requests started")
			close(gate.release)
			// The runs that lost the lease: a scheduled run skips its due
			// profiles (the next run finds them due); a forced run fails
			// them, giving the invocation to resend, for no later run would
			// do what it was asked.
			var refreshed, lost int
			for _, r := range receive(t, results, runs, "runs") {
				refreshed += len(r.sum.Refreshed)
				for _, o := range r.sum.Skipped {
					lost++
					if o.Reason != "another rotator run is refreshing tokens" {
						t.Errorf("skipped %s: %q; want the lease as the reason", o.Profile, o.Reason)
					}
				}
				for _, o := range r.sum.Failed {
					lost++
					if !strings.Contains(o.Reason, "holds the run lease") || !strings.Contains(o.Reason, `resend {"force": true, "profiles": [`) {
						t.Errorf("failed %s: %q; want the lease as the reason, and the forced run to resend", o.Profile, o.Reason)
					}
				}
				if (r.err != nil) != (len(r.sum.Failed) > 0) || len(r.sum.Failed) > 0 && len(r.sum.Skipped) > 0 {
					t.Errorf("run = %+v, %v; want success, or a forced run that lost the lease failing every profile", r.sum, r.err)
				}
			}
			if len(gate.started) != 0 || refreshed != n || lost != (runs-1)*n {
				t.Errorf("token requests started %v (+%d later), refreshed %d, lost to the lease %d; want one per profile, %d refreshed, %d lost",
					started, len(gate.started), refreshed, lost, n, (runs-1)*n)
			}
			onePerProfile(t, before)
			noLeases(t, prefix)
		})
	}

	for _, tt := range []struct {
		name, late string
	}{
		{"a scheduled run that read before another run wrote skips under the lease", scheduled},
		{"a forced run that read before another run wrote skips under the lease", `{"force":true}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prefix := newPrefix()
			before := e.requestsByClient()
			hold := &watchedStore{holding: make(chan struct{}, 1), hold: make(chan struct{})}
			late := e.handler(t, doc.String(), prefix, nil, func(s rotate.Store) rotate.Store { hold.Store = s; return hold })
			done := make(chan runResult, 1)
			go func() {
				sum, err := e.invoke(t, late, tt.late)
				done <- runResult{sum, err}
			}()
			// The late run has read the records (none yet) and waits to take
			// the lease; meanwhile a scheduled run refreshes everything.
			receive(t, hold.holding, 1, "late run at the lease")
			first := e.handler(t, doc.String(), prefix, nil, nil)
			if sum, err := e.invoke(t, first, scheduled); err != nil || len(sum.Refreshed) != len(profiles) {
				t.Fatalf("first run = %+v, %v; want every profile refreshed", sum, err)
			}
			close(hold.hold)
			r := receive(t, done, 1, "late run")[0]
			if r.err != nil || len(r.sum.Skipped) != len(profiles) {
				t.Fatalf("late run = %+v, %v; want every profile skipped", r.sum, r.err)
			}
			for _, o := range r.sum.Skipped {
				if o.Reason != "refreshed by a concurrent run" {
					t.Errorf("late run skipped %s: %q; want 'refreshed by a concurrent run'", o.Profile, o.Reason)
				}
			}
			onePerProfile(t, before)
			noLeases(t, prefix)
		})
	}

	// putLease writes a run lease as another run would have left it.
	putLease := func(t *testing.T, prefix, value string) {
		t.Helper()
		_, err := e.admin.PutParameter(context.Background(), &ssm.PutParameterInput{
			Name: aws.String(leaseName(prefix)), Value: aws.String(value), Type: types.ParameterTypeString})
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a dead run's lease is taken over", func(t *testing.T) {
		prefix := newPrefix()
		putLease(t, prefix, "dead-run "+time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano))
		before := e.requestsByClient()
		sum, err := e.invoke(t, e.handler(t, doc.String(), prefix, nil, nil), scheduled)
		if err != nil || len(sum.Refreshed) != len(profiles) {
			t.Fatalf("run = %+v, %v; want every profile refreshed", sum, err)
		}
		onePerProfile(t, before)
		noLeases(t, prefix)
	})

	t.Run("a live run's lease is respected", func(t *testing.T) {
		prefix := newPrefix()
		liveValue := "live-run " + time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
		putLease(t, prefix, liveValue)
		requests := e.idp.RequestCount()
		sum, err := e.invoke(t, e.handler(t, doc.String(), prefix, nil, nil), scheduled)
		if err != nil || len(sum.Skipped) != len(profiles) || e.idp.RequestCount() != requests {
			t.Fatalf("run = %+v, %v, %d token requests; want every profile skipped, none fetched", sum, err, e.idp.RequestCount()-requests)
		}
		for _, o := range sum.Skipped {
			if o.Reason != "another rotator run is refreshing tokens" {
				t.Errorf("skipped %s: %q; want the lease as the reason", o.Profile, o.Reason)
			}
			if e.raw(t, tokenrecord.ParameterName(prefix, o.Profile)) != "" {
				t.Errorf("%s has a record although the lease was held", o.Profile)
			}
		}
		if v := e.raw(t, leaseName(prefix)); v != liveValue {
			t.Errorf("live lease = %q; want it untouched", v)
		}
	})
}
