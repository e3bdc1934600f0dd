package rotate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

// Profile states in a Status.
const (
	// StateOK: the stored token is valid and not yet due.
	StateOK = "ok"
	// StateDue: the next scheduled run refreshes it.
	StateDue = "due"
	// StateDeferred: due for longer than two schedule intervals and still
	// not refreshed: runs deferred it (the write budget, another run's
	// lease) or no run came.
	StateDeferred = "deferred"
	// StateFailing: its last refresh failed (the failure record says so);
	// it stays failing until a refresh succeeds.
	StateFailing = "failing"
)

// Status is the state of every profile, as {"status": true} answers it:
// read from the stored records and the failure record alone, with no token
// request and no secret read. It holds no token.
type Status struct {
	CheckedAt time.Time `json:"checked_at"`
	// Counts is the number of profiles in each state.
	Counts map[string]int `json:"counts"`
	// Profiles are sorted soonest expiry first (no readable token first).
	Profiles []ProfileStatus `json:"profiles"`
	// FailuresUpdatedAt is when a run last changed the failure record
	// (absent when no run has recorded a failure yet).
	FailuresUpdatedAt *time.Time `json:"failures_updated_at,omitempty"`
	// FailingUnlisted is how many more profiles are failing than the rows
	// say, at least: the failure record holds 4 KiB and counts those it
	// cannot list. Their rows do not say failing; the runs' log lines name
	// them.
	FailingUnlisted int `json:"failing_unlisted,omitempty"`
}

// ProfileStatus is one profile's row.
type ProfileStatus struct {
	Profile   string     `json:"profile"`
	Parameter string     `json:"parameter"`
	State     string     `json:"state"`
	Why       string     `json:"why"`
	IssuedAt  *time.Time `json:"issued_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// TimeLeft is until expires_at ("expired" once past it); SecondsLeft
	// the same in seconds (0 once past it).
	TimeLeft    string `json:"time_left,omitempty"`
	SecondsLeft *int64 `json:"seconds_left,omitempty"`
	// RefreshAt is when the stored token falls due.
	RefreshAt *time.Time `json:"refresh_at,omitempty"`
	// Configuration says whether the stored record was issued for the
	// profile's current token URL, audience, scope and params: "matches",
	// "changed" or "no record". (The client id is not checked: that needs
	// the secret, which status does not read.)
	Configuration string     `json:"configuration"`
	FailingSince  *time.Time `json:"failing_since,omitempty"`
}

// statusReadInterval paces Status's GetParameters calls: at most 10 a
// second, a quarter of Parameter Store's read quota (40 TPS, shared with
// every consumer), however many profiles there are.
const statusReadInterval = 100 * time.Millisecond

// Status reads every profile's record, and the failure record with them,
// in batched GetParameters calls (BatchSize names a call, paced by
// statusReadInterval), and reports each profile.
func (r *Rotator) Status(ctx context.Context) (Status, error) {
	names := make([]string, len(r.Profiles))
	for i, p := range r.Profiles {
		names[i] = p.Parameter
	}
	stored, fl, err := r.readForStatus(ctx, names)
	if err != nil {
		return Status{}, fmt.Errorf("rotate: status: %w", err)
	}
	now := r.now()
	st := Status{CheckedAt: now.UTC(), Counts: map[string]int{StateOK: 0, StateDue: 0, StateDeferred: 0, StateFailing: 0}}
	if !fl.UpdatedAt.IsZero() {
		st.FailuresUpdatedAt = &fl.UpdatedAt
	}
	st.FailingUnlisted = fl.Omitted
	for _, p := range r.Profiles {
		var rec *tokenstore.Stored
		if s, ok := stored[p.Parameter]; ok {
			rec = &s
		}
		row := r.profileStatus(p, rec, now)
		if f, ok := fl.Failing[p.Name]; ok {
			since := f.Since
			row.State, row.FailingSince = StateFailing, &since
			row.Why = fmt.Sprintf("last refresh failed (failing since %s): %s", since.UTC().Format(time.RFC3339), f.Reason)
		}
		st.Counts[row.State]++
		st.Profiles = append(st.Profiles, row)
	}
	sort.Slice(st.Profiles, func(i, j int) bool {
		a, b := st.Profiles[i].ExpiresAt, st.Profiles[j].ExpiresAt
		if (a == nil) != (b == nil) {
			return a == nil
		}
		if a != nil && !a.Equal(*b) {
			return a.Before(*b)
		}
		return st.Profiles[i].Profile < st.Profiles[j].Profile
	})
	return st, nil
}

// readForStatus reads the records named and the failure record (last, in
// the last batch), a batch at a time.
func (r *Rotator) readForStatus(ctx context.Context, names []string) (map[string]tokenstore.Stored, failures, error) {
	fs, withRecord := r.Store.(FailureStore)
	withRecord = withRecord && r.Failures != ""
	all := names
	if withRecord {
		all = append(slices.Clip(names), r.Failures)
	}
	stored, fl := map[string]tokenstore.Stored{}, parseFailures("")
	for i := 0; i < len(all); i += tokenstore.BatchSize {
		if i > 0 {
			if err := r.sleepUntil(ctx, time.Now().Add(statusReadInterval)); err != nil {
				return nil, fl, err
			}
		}
		batch := all[i:min(i+tokenstore.BatchSize, len(all))]
		var got map[string]tokenstore.Stored
		var err error
		if withRecord && i+len(batch) == len(all) {
			var raw map[string]string
			got, raw, err = fs.ReadWith(ctx, batch[:len(batch)-1], batch[len(batch)-1:])
			if v, ok := raw[r.Failures]; ok {
				fl = parseFailures(v)
			}
		} else {
			got, err = r.Store.Read(ctx, batch)
		}
		if err != nil {
			return nil, fl, err
		}
		maps.Copy(stored, got)
	}
	return stored, fl, nil
}

// profileStatus is p's row from its stored record alone.
func (r *Rotator) profileStatus(p profile.Profile, st *tokenstore.Stored, now time.Time) ProfileStatus {
	row := ProfileStatus{Profile: p.Name, Parameter: p.Parameter, Configuration: "no record"}
	due, why := r.isDue(p, st, now)
	row.State, row.Why = StateOK, why
	if due != "" {
		row.State, row.Why = StateDue, why+": the next scheduled run refreshes it"
	}
	if st == nil || st.Err != nil {
		return row
	}
	rec := st.Record
	issued, expires := rec.IssuedAt.UTC(), rec.ExpiresAt.UTC()
	refresh := r.RefreshAt(p, rec).UTC().Truncate(time.Second)
	row.IssuedAt, row.ExpiresAt, row.RefreshAt = &issued, &expires, &refresh
	left := max(0, expires.Sub(now)).Truncate(time.Second)
	secs := int64(left.Seconds())
	row.SecondsLeft, row.TimeLeft = &secs, left.String()
	if left == 0 {
		row.TimeLeft = "expired"
	}
	row.Configuration = "matches"
	if !issuedFor(p, rec) {
		row.Configuration = "changed"
		return row
	}
	if due != "" && now.Sub(refresh) > 2*r.interval() {
		row.State = StateDeferred
		row.Why = fmt.Sprintf("due since %s and not refreshed by the runs since: deferred by the write budget (ProfilesDeferred), "+
			"skipped for another run's lease, or no run came (the rotation-stalled alarm)", refresh.Format(time.RFC3339))
	}
	return row
}
