package rotate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/throttle"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// The write budget.
//
// Parameter Store's PutParameter quota (3/s by default, per account and
// region) is far below what a run can fetch, so a run plans its writes
// before it requests any token: every profile to refresh, most urgent
// first, gets a write slot 1/(0.9 x WriteRate) apart, counted from the end of the
// re-reads under the lease. Slots run until 11/16 of the lease, and no
// later than leaves the last one's token request a whole request timeout
// before token requests end (3/4 of the lease); the profiles left over are
// deferred to the next run without a token request. A profile's token is
// requested shortly before its slot (fetchLead), only if a whole request
// timeout is still left then, and stored at its slot; writes may run on
// until 7/8 of the lease, so a throttled write has time to be retried: a
// token that is requested is stored.

// writeShare is the share of WriteRate a run plans its writes at. The rest
// is headroom: a write throttled by another application's burst is retried
// by the SDK, and at exactly the quota's rate the retries would compete
// with every later write and never catch up.
const writeShare = 0.9

// fetchLead is how long before its write slot a profile's token is
// requested, so that the token is at hand when its slot comes.
const fetchLead = 2 * time.Second

// leaseSlack is added to the time a run's writes take when the lease is
// sized to the work: the reads, secrets and token requests around them.
const leaseSlack = 30 * time.Second

// writeBudget hands out write slots on the real clock.
type writeBudget struct {
	start    time.Time     // the first slot is one interval after it
	interval time.Duration // 1/rate; 0: unpaced
	last     time.Time     // no slot after this
	ttl      time.Duration // the run's lease
	n        int           // slots handed out after the lease's
}

// reserve returns the next write slot, or false when it would come after
// the last one.
func (b *writeBudget) reserve() (time.Time, bool) {
	at := b.start.Add(time.Duration(b.n+1) * b.interval)
	if at.After(b.last) {
		return at, false
	}
	b.n++
	return at, true
}

// runState is what the profiles of one run share while they refresh.
type runState struct {
	hosts breakers
	// paramLimit is set once a write met the account's parameter limit:
	// profiles with no record yet would need a new parameter too, so their
	// tokens are not requested.
	mu         sync.Mutex
	paramLimit error
	// paced: writes have slots (WriteRate > 0); unpaced, every slot is the
	// run's start and none is late.
	paced bool
	// next is the next runs' plan, by which the deferred profiles
	// (guarded by mu) are judged at the end of the run (see defer.go).
	next     nextRuns
	deferred []*state
}

// lateSlot is how far behind its write slot a profile's token request may
// start: further behind, the run's token requests (a slow endpoint for the
// run's concurrency) have fallen behind its writes, and the profile is
// deferred instead of fetched, so that late tokens do not pile up into a
// burst of writes or past the write deadline.
var lateSlot = 10 * time.Second

func (r *Rotator) writeRate() float64 {
	if r.WriteRate == 0 {
		return DefaultWriteRate
	}
	return r.WriteRate
}

func (r *Rotator) interval() time.Duration { return cmp.Or(r.Interval, DefaultInterval) }

// leaseTTL is LeaseTTL, or the lease sized to n writes at WriteRate
// (at least DefaultLeaseTTL), within ctx's deadline either way: slots
// planned past it would have tokens fetched that no write can store. A
// sized lease also leaves the last slot's token request, fetchLead before
// it, a whole request timeout before token requests end at 3/4 of the
// lease, with leaseSlack to spare: with a long request timeout (up to 2
// minutes) the floor alone would leave no slot at all.
func (r *Rotator) leaseTTL(ctx context.Context, n int) time.Duration {
	ttl := r.LeaseTTL
	if ttl <= 0 {
		var writes time.Duration
		if rate := r.writeRate(); rate > 0 {
			writes = time.Duration(float64(n+1) / (rate * writeShare) * float64(time.Second))
		}
		ttl = max(DefaultLeaseTTL, writes*16/11+leaseSlack, (writes+r.requestTimeout()-fetchLead)*4/3+leaseSlack)
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left > 0 && left < ttl {
			ttl = left
		}
	}
	return ttl
}

// byUrgency orders work most urgent first: no readable record, then the
// stored tokens that expire first; then by name, so that runs agree.
func byUrgency(a, b *state) int {
	ua, ub := a.stored == nil || a.stored.Err != nil, b.stored == nil || b.stored.Err != nil
	switch {
	case ua != ub:
		if ua {
			return -1
		}
		return 1
	case !ua:
		if c := a.stored.Record.ExpiresAt.Compare(b.stored.Record.ExpiresAt); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.p.Name, b.p.Name)
}

// plan gives each profile of work a write slot, most urgent first, and
// defers the ones the budget cannot take. It returns the profiles to
// refresh, in slot order, and sets rs.next from its own plan.
func (r *Rotator) plan(work []*state, start time.Time, ttl time.Duration, rs *runState) []*state {
	slices.SortStableFunc(work, byUrgency)
	// Slots count from now: the lease's write and the re-reads under it
	// are behind, and slots already past would all be written at once.
	// The last leaves its token request, fetchLead before it, a whole
	// request timeout before token requests end.
	b := &writeBudget{start: start, last: start.Add(ttl * 11 / 16), ttl: ttl}
	if last := fetchEnd(start, ttl).Add(fetchLead - r.requestTimeout()); last.Before(b.last) {
		b.last = last
	}
	if now := time.Now(); now.After(start) {
		b.start = now
	}
	if rate := r.writeRate(); rate > 0 {
		b.interval = time.Duration(float64(time.Second) / (rate * writeShare))
	}
	var fit []*state
	for i, s := range work {
		at, ok := b.reserve()
		if !ok {
			rs.next = r.nextRuns(b)
			why := fmt.Sprintf("this run's PutParameter budget (%d writes: %g/s, ROTATOR_WRITE_RATE, for %s) went to more urgent profiles",
				b.n, r.writeRate(), b.last.Sub(b.start).Round(time.Second))
			if !at.After(start.Add(ttl * 11 / 16)) {
				// Only the request timeout's bound refused the slot.
				why = r.noWholeRequest(start, ttl, b.n)
			}
			for _, s := range work[i:] {
				r.deferOne(s, why, rs)
			}
			return fit
		}
		s.writeAt = at
		fit = append(fit, s)
	}
	rs.next = r.nextRuns(b)
	return fit
}

// noWholeRequest says why a run whose lease of ttl began at start has no
// write slot left after n: the slot's token request would not have a whole
// request timeout before the run's token requests end.
func (r *Rotator) noWholeRequest(start time.Time, ttl time.Duration, n int) string {
	return fmt.Sprintf("no whole token request fits in this run after its %d write(s): a request may take %s (ROTATOR_REQUEST_TIMEOUT) "+
		"and the run's token requests end %s into its %s lease: lower ROTATOR_REQUEST_TIMEOUT, or give the run more time (the function's Timeout)",
		n, r.requestTimeout(), fetchEnd(start, ttl).Sub(start).Round(time.Second), ttl.Round(time.Second))
}

// fetchEnd is when the token requests of a run whose lease of ttl began
// at start must end: at 3/4 of the lease, so that a token fetched in time
// has time to be stored (writes end at 7/8).
func fetchEnd(start time.Time, ttl time.Duration) time.Time { return start.Add(ttl - ttl/4) }

// requestTimeout is how long one token request may take: the Fetcher's
// AttemptTimeout (*oauth.Client's RequestTimeout) when it has one, else
// oauth.DefaultRequestTimeout. A request is started only with that much
// time left before the run's token requests must end.
func (r *Rotator) requestTimeout() time.Duration {
	if f, ok := r.Fetcher.(interface{ AttemptTimeout() time.Duration }); ok {
		return f.AttemptTimeout()
	}
	return oauth.DefaultRequestTimeout
}

// sleepUntil waits until at on the real clock, or until ctx ends.
func (r *Rotator) sleepUntil(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// limitErr is the parameter-limit error a write of this run met, or nil.
func (rs *runState) limitErr() error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.paramLimit
}

// wrote notes a write's error.
func (rs *runState) wrote(err error) {
	if errors.Is(err, tokenstore.ErrParameterLimit) {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if rs.paramLimit == nil {
			rs.paramLimit = err
		}
	}
}

// write stores a fetched token. A write that is still throttled after the
// SDK's own retries (other applications share the account's PutParameter
// quota) is tried again, a second or two later, for as long as writeCtx
// lasts: the token is in hand, and losing it costs a token request.
func (r *Rotator) write(writeCtx context.Context, name string, rec tokenrecord.Record) error {
	for {
		_, err := r.Store.Write(writeCtx, name, rec)
		if err == nil || !throttle.Is(err) || writeCtx.Err() != nil {
			return err
		}
		wait := time.Second + time.Duration(rand.Int64N(int64(time.Second)))
		if r.sleepUntil(writeCtx, time.Now().Add(wait)) != nil {
			return err
		}
	}
}
