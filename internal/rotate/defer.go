package rotate

import (
	"fmt"
	"slices"
	"time"
)

// Deferrals.
//
// A due profile whose token this run does not request (its write did not
// fit the budget, the run's requests fell behind, or no whole request was
// left) is deferred: reported, not failed, and taken by the next run. That
// is safe only if the next run writes it while the stored token can still
// be served. The next run writes the deferred profiles most urgent first,
// one write slot each, after the ones ahead of them: the last of 1,650
// deferred profiles is written some 10 minutes into a run at 3/s. So the
// deferrals are judged at the end of the run, in that order, against the
// next runs' own plan (nextRuns), and one whose write would come too late
// is a failure that names the quota.

// consumerSkew is how long before expires_at consumers stop serving a
// token (tokencache's default skew): a deferred token must still be served
// until the next run can replace it.
const consumerSkew = 60 * time.Second

// asyncRetryMax bounds Lambda's wait before it retries an asynchronous
// invocation it throttled: "The retry interval increases exponentially
// from 1 second after the first attempt to a maximum of 5 minutes"
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
// With reserved concurrency 1, the scheduled events that arrive while a
// run works are throttled so.
const asyncRetryMax = 5 * time.Minute

// nextRuns is the plan of the runs after this one, as this run can tell
// it, conservatively: the first starts after the schedule's interval, or,
// when this run's lease outlasts it, after the lease and Lambda's longest
// retry backoff (the scheduled events that came meanwhile were throttled,
// and one may be retried up to asyncRetryMax after the run ends); each
// next one after the same gap; each writes as many profiles as this run's
// budget held, a slot apart. Profiles that fall due meanwhile are not
// counted.
type nextRuns struct {
	start  time.Time     // the first next run's start
	gap    time.Duration // between runs
	slot   time.Duration // between writes; 0: unpaced
	perRun int           // writes per run
}

// nextRuns is the plan of the runs after one whose budget is b.
func (r *Rotator) nextRuns(b *writeBudget) nextRuns {
	gap := r.interval()
	if b.ttl > gap {
		gap = b.ttl + asyncRetryMax
	}
	return nextRuns{start: r.now().Add(gap), gap: gap, slot: b.interval, perRun: max(b.n, 1)}
}

// write is when the next runs write the profile with i more urgent
// deferred profiles ahead of it.
func (n nextRuns) write(i int) time.Time {
	run, pos := i/n.perRun, i%n.perRun
	return n.start.Add(time.Duration(run)*n.gap + time.Duration(pos+1)*n.slot)
}

// deferOne defers s, whose token was not requested because of why, to be
// judged with the other deferrals at the end of the run (judgeDeferred),
// or fails it at once when no scheduled run would refresh it (a forced
// profile, or one whose client id changed, with a token that is not due).
func (r *Rotator) deferOne(s *state, why string, rs *runState) {
	if due, _ := r.isDue(s.p, s.stored, r.now()); due == "" {
		s.fail(fmt.Sprintf("not refreshed (%s): %s, and a scheduled run will not refresh it before its token falls due: "+
			"invoke the rotator again with {\"force\": true, \"profiles\": [%q]}", s.reason, why, s.p.Name))
		return
	}
	s.deferWhy = why
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.deferred = append(rs.deferred, s)
}

// judgeDeferred decides each deferral of the run, most urgent first, as
// the next runs will take them: deferred when its write comes at least
// consumerSkew before its stored token expires, else a failure naming the
// quota.
func (r *Rotator) judgeDeferred(rs *runState) {
	slices.SortStableFunc(rs.deferred, byUrgency)
	now := r.now()
	for i, s := range rs.deferred {
		exp := s.storedExpiry()
		at := rs.next.write(i)
		if exp != nil && exp.Before(at.Add(consumerSkew)) {
			s.fail(fmt.Sprintf("not refreshed: %s, and the stored token expires at %s, before the next run can write it: "+
				"the next runs write %d more urgent profiles first, %d per run at %g/s (ROTATOR_WRITE_RATE), its write about %s from now: "+
				"enable Parameter Store's higher throughput (PutParameter 10/s) and raise ROTATOR_WRITE_RATE, or spread the profiles over more accounts or regions",
				s.deferWhy, exp.UTC().Format(time.RFC3339), i, rs.next.perRun, r.writeRate(), at.Sub(now).Round(time.Second)))
			continue
		}
		s.outcome = Outcome{Profile: s.p.Name, Action: Deferred, Reason: "deferred to the next run: " + s.deferWhy + "; no token was requested",
			Parameter: s.p.Parameter, ExpiresAt: exp}
	}
}
