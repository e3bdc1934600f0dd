package rotate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

// TestFailureRecordOmittedStaysTrue: when more profiles fail than the
// record can list, omitted counts the rest, and a later run keeps it
// true: profiles that fail again are counted once, not added again each
// run, and omitted ones that are refreshed stop being counted, although
// others still fail (before, omitted was reset only when nothing was
// failing). It is a lower bound: never more than the failing profiles
// the record does not list.
func TestFailureRecordOmittedStaysTrue(t *testing.T) {
	const n = 1000
	known := map[string]bool{}
	var all []string
	for i := range n {
		name := fmt.Sprintf("agency-%04d", i)
		all, known[name] = append(all, name), true
	}
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	run := func(f failures, outcomes map[string]Action) failures {
		t.Helper()
		var states []*state
		for name, a := range outcomes {
			s := &state{p: profile.Profile{Name: name}}
			s.outcome = Outcome{Profile: name, Action: a, Reason: "invalid_client: the new secret is wrong"}
			states = append(states, s)
		}
		at = at.Add(5 * time.Minute)
		return parseFailures(f.update(states, known, at).encode(at))
	}
	each := func(names []string, a Action) map[string]Action {
		m := map[string]Action{}
		for _, name := range names {
			m[name] = a
		}
		return m
	}
	unlisted := func(f failures) []string {
		var out []string
		for _, name := range all {
			if _, ok := f.Failing[name]; !ok {
				out = append(out, name)
			}
		}
		return out
	}

	// A secret shared by 1,000 agencies gets a wrong value: all fail.
	rec := run(failures{Failing: map[string]failure{}}, each(all, Failed))
	listed := len(rec.Failing)
	if listed == 0 || listed == n || listed+rec.Omitted != n {
		t.Fatalf("1,000 failing: %d listed, %d omitted; want some listed and the rest counted", listed, rec.Omitted)
	}
	// Each later run fails them all again: still 1,000.
	for i := range 3 {
		rec = run(rec, each(all, Failed))
		if len(rec.Failing)+rec.Omitted != n {
			t.Errorf("run %d failing the same 1,000 again: %d listed + %d omitted; want %d", i+2, len(rec.Failing), rec.Omitted, n)
		}
	}
	// The unlisted ones are refreshed; the listed ones, not retried, still fail.
	rec = run(rec, each(unlisted(rec), Refreshed))
	if len(rec.Failing) != listed || rec.Omitted != 0 {
		t.Errorf("the %d unlisted profiles refreshed: %d listed, %d omitted; want %d listed, 0 omitted", n-listed, len(rec.Failing), rec.Omitted, listed)
	}

	// All fail again; then a run refreshes up to 100 profiles that are
	// listed and fails 50 unlisted ones: omitted never counts more than still fail.
	rec = run(rec, each(all, Failed))
	before := rec
	outcomes := each(unlisted(rec)[:50], Failed)
	i := 0
	for name := range rec.Failing {
		if i == 100 {
			break
		}
		outcomes[name], i = Refreshed, i+1
	}
	rec = run(rec, outcomes)
	if failing := n - i; len(rec.Failing)+rec.Omitted > failing || rec.Omitted > before.Omitted {
		t.Errorf("the listed refreshed, 50 unlisted failed again: %d listed + %d omitted (was %d omitted); want at most the %d still failing, and no omitted one counted twice",
			len(rec.Failing), rec.Omitted, before.Omitted, failing)
	}
}

// recordStore is a memStore that keeps a failure record.
type recordStore struct {
	*memStore
	record string
}

func (s *recordStore) ReadWith(ctx context.Context, names, extra []string) (map[string]tokenstore.Stored, map[string]string, error) {
	got, err := s.Read(ctx, names)
	return got, map[string]string{extra[0]: s.record}, err
}

func (s *recordStore) PutString(_ context.Context, _, value string) error {
	s.record = value
	return nil
}

// TestStatusCountsUnlistedFailures: status says how many failing profiles
// the failure record could not list (their rows cannot say failing).
func TestStatusCountsUnlistedFailures(t *testing.T) {
	store := &recordStore{memStore: newMemStore(),
		record: `{"updated_at":"2026-11-22T10:00:00Z","failing":{"a":{"since":"2026-11-22T09:00:00Z"}},"omitted":7}`}
	r := &Rotator{Profiles: []profile.Profile{{Name: "a", Parameter: "/t/a"}, {Name: "b", Parameter: "/t/b"}},
		Store: store, Failures: FailureRecord("/t")}
	st, err := r.Status(context.Background())
	if err != nil || st.Counts[StateFailing] != 1 || st.FailingUnlisted != 7 {
		t.Errorf("Status = %+v, %v; want a failing, and 7 more failing profiles the record could not list", st, err)
	}
}
