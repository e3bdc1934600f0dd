package rotate

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// The failure record.
//
// A failed refresh leaves the stored token as it was, so the records alone
// cannot say that a profile is failing, nor why. Runs keep that in one
// small String parameter beside the records (FailureRecord): for each
// failing profile, since when and the latest reason (the same text as its
// log line: never a token or a secret). A run reads it only when it
// failed or refreshed a profile (an idle run, nothing due, makes no extra
// call), and writes it only when it changes: a profile started failing,
// failed for another reason, or was refreshed again. That write is paced
// as one more write of the run's budget: one write interval after the
// run's last token write, within the run's time; when no time is left the
// record is left as it was, and the next run, seeing the same difference,
// writes it. Past 4 KiB the record counts the failing profiles it cannot
// list (omitted, a lower bound kept true by update; Status.FailingUnlisted).
// A profile stays failing until it is refreshed: a refused new
// credential keeps its profiles failing although their old tokens are
// still valid. A run whose first read of the records failed leaves the
// record alone (SSM is failing it already). Two runs at once may overwrite
// each other's update; the
// next run that fails or refreshes anything corrects it.

// FailureStore keeps the failure record; *tokenstore.Store satisfies it.
// A Store that does not implement it keeps no failure record.
type FailureStore interface {
	ReadWith(ctx context.Context, names, extra []string) (map[string]tokenstore.Stored, map[string]string, error)
	PutString(ctx context.Context, name, value string) error
}

var _ FailureStore = (*tokenstore.Store)(nil)

// FailureRecord is the failure record's parameter for the records under
// prefix: <prefix>/.rotator.failures. No profile may use it as its
// parameter.
func FailureRecord(prefix string) string {
	return tokenrecord.ParameterName(prefix, ".rotator.failures")
}

// failure is one failing profile in the record.
type failure struct {
	Since  time.Time `json:"since"`
	Reason string    `json:"reason,omitempty"`
}

// failures is the record's value.
type failures struct {
	UpdatedAt time.Time          `json:"updated_at"`
	Failing   map[string]failure `json:"failing"`
	// Omitted counts failing profiles left out to stay within a Standard
	// parameter's 4 KiB: at least this many more profiles are failing (see
	// update).
	Omitted int `json:"omitted,omitempty"`
}

// parseFailures reads a record; anything unreadable is an empty one (the
// next write replaces it).
func parseFailures(raw string) failures {
	var f failures
	if json.Unmarshal([]byte(raw), &f) != nil || f.Failing == nil {
		return failures{Failing: map[string]failure{}}
	}
	return f
}

// maxReason bounds each reason kept, in bytes.
const maxReason = 200

// update returns the record after a run: the run's failed profiles are
// failing (since their first failure), its refreshed ones no longer are,
// and profiles no longer in the document are dropped.
//
// The omitted profiles have no names, so a run cannot tell which of them
// it retried. Each profile it refreshed or failed that the record did not
// list may have been one: the omitted count drops by one for each (a
// failed one is listed, or counted again by encode, now), and never
// exceeds the profiles the record does not list and this run did not
// refresh. So it is never stale nor counted twice; it is a lower bound
// (a run that refreshes healthy unlisted profiles lowers it too).
func (f failures) update(states []*state, known map[string]bool, now time.Time) failures {
	next := failures{Failing: map[string]failure{}}
	for name, fl := range f.Failing {
		if known[name] {
			next.Failing[name] = fl
		}
	}
	omitted, refreshed := f.Omitted, 0
	for _, s := range states {
		switch s.outcome.Action {
		case Failed:
			since := now
			if old, ok := next.Failing[s.p.Name]; ok {
				since = old.Since
			}
			next.Failing[s.p.Name] = failure{Since: since, Reason: truncate(s.outcome.Reason, maxReason)}
		case Refreshed:
			delete(next.Failing, s.p.Name)
			refreshed++
		default:
			if !s.proven {
				continue
			}
			delete(next.Failing, s.p.Name)
			refreshed++
		}
		if _, listed := f.Failing[s.p.Name]; !listed {
			omitted--
		}
	}
	next.Omitted = max(0, min(omitted, len(known)-len(next.Failing)-refreshed))
	return next
}

// encode marshals the record within tokenstore.StandardLimit: reasons are
// shortened, then dropped, then the most recent failures are left out
// (counted in Omitted).
func (f failures) encode(at time.Time) string {
	f.UpdatedAt = at.UTC()
	for _, keep := range []int{maxReason, 60, 0} {
		short := failures{UpdatedAt: f.UpdatedAt, Failing: map[string]failure{}, Omitted: f.Omitted}
		for name, fl := range f.Failing {
			short.Failing[name] = failure{Since: fl.Since.UTC(), Reason: truncate(fl.Reason, keep)}
		}
		if b, _ := json.Marshal(short); len(b) <= tokenstore.StandardLimit {
			return string(b)
		}
		f = short
	}
	// Keep the oldest failures that fit (found by bisection: a marshal per
	// step, however many profiles fail).
	names := make([]string, 0, len(f.Failing))
	for name := range f.Failing {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := f.Failing[names[i]].Since, f.Failing[names[j]].Since
		return a.Before(b) || a.Equal(b) && names[i] < names[j]
	})
	keep := func(k int) failures {
		g := failures{UpdatedAt: f.UpdatedAt, Failing: make(map[string]failure, k), Omitted: f.Omitted + len(names) - k}
		for _, name := range names[:k] {
			g.Failing[name] = f.Failing[name]
		}
		return g
	}
	lo, hi := 0, len(names)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if b, _ := json.Marshal(keep(mid)); len(b) <= tokenstore.StandardLimit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	b, _ := json.Marshal(keep(lo))
	return string(b)
}

// sameAs reports whether two records say the same, whenever written.
func (f failures) sameAs(g failures) bool {
	return f.encode(time.Time{}) == g.encode(time.Time{})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		n--
	}
	return s[:n]
}

// recordFailures updates the failure record after a run (see above).
func (r *Rotator) recordFailures(ctx context.Context, states []*state) {
	fs, ok := r.Store.(FailureStore)
	if r.Failures == "" || !ok || !anyAction(states, Failed, Refreshed) && !slices.ContainsFunc(states, func(s *state) bool { return s.proven }) {
		return
	}
	_, raw, err := fs.ReadWith(ctx, nil, []string{r.Failures})
	if err == nil {
		known := make(map[string]bool, len(r.Profiles))
		for _, p := range r.Profiles {
			known[p.Name] = true
		}
		old := parseFailures(raw[r.Failures])
		next := old.update(states, known, r.now())
		if next.sameAs(old) { // an absent record reads as an empty one
			return
		}
		if err = r.sleepUntil(ctx, r.nextWriteSlot(states)); err == nil {
			err = fs.PutString(ctx, r.Failures, next.encode(r.now()))
		}
	}
	level, msg := slog.LevelInfo, "failure record updated"
	if err != nil {
		level, msg = slog.LevelWarn, "failure record not updated: the next run that fails or refreshes a profile updates it: "+err.Error()
	}
	r.logger().LogAttrs(ctx, level, msg, slog.String("parameter", r.Failures))
}

func anyAction(states []*state, actions ...Action) bool {
	for _, s := range states {
		if slices.Contains(actions, s.outcome.Action) {
			return true
		}
	}
	return false
}

// nextWriteSlot is when the run may make one more write: one interval of
// its write budget after its last token write (now when it wrote none or
// is unpaced).
func (r *Rotator) nextWriteSlot(states []*state) time.Time {
	var last time.Time
	for _, s := range states {
		if s.writeAt.After(last) {
			last = s.writeAt
		}
	}
	rate := r.writeRate()
	if last.IsZero() || rate <= 0 {
		return time.Now()
	}
	return last.Add(time.Duration(float64(time.Second) / (rate * writeShare)))
}
