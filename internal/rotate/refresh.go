package rotate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// readSecrets reads each distinct secret of the due profiles once (and of
// every profile with checkCredentials), with bounded concurrency.
func (r *Rotator) readSecrets(ctx context.Context, states []*state, checkCredentials bool) {
	bySecret := map[string][]*state{}
	var ids []string
	for _, s := range states {
		if s.outcome.Action == Failed || (!s.due && !checkCredentials) {
			continue
		}
		if _, ok := bySecret[s.p.SecretID]; !ok {
			ids = append(ids, s.p.SecretID)
		}
		bySecret[s.p.SecretID] = append(bySecret[s.p.SecretID], s)
	}
	// Profiles not due that share a secret being read anyway get their
	// client id checked for free.
	for _, s := range states {
		if !s.due && s.outcome.Action == "" && !checkCredentials {
			if group, ok := bySecret[s.p.SecretID]; ok {
				bySecret[s.p.SecretID] = append(group, s)
			}
		}
	}
	forEach(ctx, r.concurrency(), ids, func(ctx context.Context, id string) {
		creds, err := r.Secrets.Get(ctx, id)
		for _, s := range bySecret[id] {
			if err != nil {
				if s.due {
					s.fail(err.Error())
				}
				continue
			}
			s.creds = creds
			if !s.due && s.stored != nil && fingerprintPart(s.stored.Record.Fingerprint, 1) != clientHash(creds.ClientID) {
				s.due, s.reason, s.cause = true, "client id changed", ReasonCredentialsChanged
				continue // a new client id is a change to prove, whatever the version
			}
			s.unchangedCredentials()
		}
	})
}

// refresh fetches and publishes every due profile with credentials, and
// records the outcome of the rest. A run with nothing to fetch takes no
// lease; otherwise everything it fetches, it fetches under its lease.
func (r *Rotator) refresh(ctx context.Context, states []*state, req Request, runStart time.Time) {
	force := req.Force || len(req.CredentialsChanged) > 0
	var work []*state
	for _, s := range states {
		switch {
		case s.outcome.Action != "": // failed, or skipped by readSecrets
		case !s.due:
			s.skip(s.reason)
		default:
			work = append(work, s)
		}
	}
	if len(work) == 0 {
		return
	}
	if err := ctx.Err(); err != nil {
		for _, s := range work {
			s.fail("run ended before this profile was refreshed: " + err.Error())
		}
		return
	}
	// The lease runs from before it is asked for (taking it may retry), on the
	// real clock: everything under it, the release included, must end
	// before it does, or another run could take it over and fetch the same
	// tokens. Write slots end at 11/16 of it (see budget.go), re-reads and
	// token requests at 3/4, so that a token fetched in time still has time
	// to be stored; writes end at 7/8, the release at 15/16.
	ttl := r.leaseTTL(ctx, len(work))
	start := time.Now()
	leaseEnd := start.Add(ttl)
	release, err := r.Store.Lease(ctx, r.Lease, r.Owner, r.now(), ttl)
	if err != nil {
		held := errors.Is(err, tokenstore.ErrLeaseHeld)
		resend := resendRequest(req, work)
		for _, s := range work {
			switch {
			case held && resend == "":
				// A scheduled or check_credentials run: the next one
				// finds the same profiles due.
				s.skip("another rotator run is refreshing tokens")
			case held:
				// No later run would do what was asked: say so, and how
				// to ask again, or the change event is lost.
				s.fail(fmt.Sprintf("not refreshed: another rotator run holds the run lease %s (until it ends, or its lease expires if it died, at most the function's timeout); resend %s",
					tokenstore.LeaseName(r.Lease), resend))
			default:
				s.fail(err.Error())
			}
		}
		return
	}
	defer func() {
		// Release even when the run's context has ended, but briefly, and
		// only while the lease is surely still this run's: past its end it
		// is left to expire.
		deadline := time.Now().Add(releaseTimeout)
		if last := leaseEnd.Add(-ttl / 16); last.Before(deadline) {
			deadline = last
		}
		if !time.Now().Before(deadline) {
			return
		}
		rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
		release(rctx)
	}()
	writeCtx, cancelWrites := context.WithDeadlineCause(ctx, start.Add(ttl-ttl/8), errLeaseBudget)
	defer cancelWrites()
	ctx, cancel := context.WithDeadlineCause(ctx, fetchEnd(start, ttl), errLeaseBudget)
	defer cancel()

	work = r.recheck(ctx, work, force, runStart)
	if ctx.Err() != nil {
		// The lease's time went on taking it and re-reading: that is no
		// budget to defer to, but a run that could not work.
		for _, s := range work {
			s.fail("run ended before this profile was refreshed: " + context.Cause(ctx).Error())
		}
		return
	}
	rs := &runState{paced: r.writeRate() > 0}
	work = r.plan(work, start, ttl, rs)
	forEach(ctx, r.concurrency(), work, func(ctx context.Context, s *state) { r.refreshOne(ctx, writeCtx, s, rs) })
	r.judgeDeferred(rs)
}

// recheck re-reads the records of work under the lease, a batch at a
// time, and returns the profiles still to fetch: if a record's version
// moved since this run read it, a run that finished in between has
// refreshed it. A batch that cannot be read fails its own profiles only.
func (r *Rotator) recheck(ctx context.Context, work []*state, force bool, runStart time.Time) []*state {
	var still []*state
	for batch := range slices.Chunk(work, tokenstore.BatchSize) {
		names := make([]string, len(batch))
		for i, s := range batch {
			names[i] = s.p.Parameter
		}
		fresh, err := r.Store.Read(ctx, names)
		if err != nil {
			cause := err
			switch u := errors.Unwrap(err); {
			case ctx.Err() != nil:
				cause = context.Cause(ctx)
			case u != nil: // the batch's names are in each profile's outcome already
				cause = u
			}
			for _, s := range batch {
				s.fail("re-read the stored records under the lease: " + cause.Error())
			}
			continue
		}
		for _, s := range batch {
			st, ok := fresh[s.p.Parameter]
			var before int64
			if s.stored != nil {
				before = s.stored.Version
			}
			if ok && (s.unread || st.Version != before) {
				s.stored = &st
				// A forced run that could not read the record before has
				// only its issue time to go by: issued since this run
				// began, it is another run's.
				if force && (!s.unread || (st.Err == nil && !st.Record.IssuedAt.Before(runStart))) {
					s.skip("refreshed by a concurrent run")
					continue
				}
				if !force {
					if due, _ := r.isDue(s.p, &st, r.now()); due == "" {
						s.skip("refreshed by a concurrent run")
						continue
					}
				}
			}
			still = append(still, s)
		}
	}
	return still
}

// refreshOne fetches one due profile's token (within ctx, shortly before
// its write slot) and publishes it at its slot (within writeCtx, which ends
// later, so that a token fetched in time is stored).
func (r *Rotator) refreshOne(ctx, writeCtx context.Context, s *state, rs *runState) {
	p := s.p
	if err := r.sleepUntil(ctx, s.writeAt.Add(-fetchLead)); err != nil || ctx.Err() != nil {
		s.fail("run ended before this profile was refreshed: " + cmp.Or(context.Cause(ctx), err).Error())
		return
	}
	if late := time.Since(s.writeAt); rs.paced && late > lateSlot {
		r.deferOne(s, fmt.Sprintf("this run's token requests fell %s behind its PutParameter schedule (a slow token endpoint for concurrency %d)",
			late.Round(time.Second), r.concurrency()), rs)
		return
	}
	host := hostOf(p.TokenURL)
	if reason, open := rs.hosts.open(host); open {
		s.fail(reason)
		return
	}
	if err := rs.limitErr(); err != nil && s.stored == nil {
		s.fail("not requested: a new parameter cannot be created: " + err.Error())
		return
	}
	if rt := r.requestTimeout(); !hasTime(ctx, rt) {
		r.deferOne(s, fmt.Sprintf("this run's token requests must end in less than a whole request timeout (%s, ROTATOR_REQUEST_TIMEOUT)", rt), rs)
		return
	}
	sent := r.now()
	due, _ := r.isDue(p, s.stored, sent)
	s.request(sent, due)
	tok, err := r.Fetcher.Fetch(ctx, oauth.NewRequest(p, s.creds))
	s.attempts = attempts(tok, err)
	if s.attempts == 0 {
		s.unrequest() // nothing was sent: no token request to count
	}
	if errors.Is(err, oauth.ErrNoTime) {
		r.deferOne(s, err.Error(), rs)
		return
	}
	if err != nil {
		rs.hosts.failed(host, p.Name, err)
		s.fail(err.Error())
		return
	}
	rec := tokenrecord.Record{
		AccessToken: tok.AccessToken, TokenType: tok.TokenType, Profile: p.Name,
		IssuedAt: sent, ExpiresAt: sent.Add(tok.ExpiresIn), Fingerprint: fingerprint(p, s.creds.ClientID),
		SecretVersion: s.creds.VersionID,
	}
	if tok.ExpiresIn <= p.RefreshBefore {
		r.logger().LogAttrs(ctx, slog.LevelWarn, "token lifetime not longer than refresh_before: it will be fetched on every run",
			slog.String("profile", p.Name), slog.Duration("lifetime", tok.ExpiresIn), slog.Duration("refresh_before", p.RefreshBefore))
	}
	// Wait for the slot even past writeCtx's end: the write then fails at
	// once, and says why.
	_ = r.sleepUntil(writeCtx, s.writeAt)
	if err := r.write(writeCtx, p.Parameter, rec); err != nil {
		rs.wrote(err)
		r.logger().LogAttrs(ctx, slog.LevelError, "token fetched but not stored: the provider counted a request for nothing",
			slog.String("profile", p.Name), slog.String("error", err.Error()))
		s.fail(err.Error())
		return
	}
	exp := rec.ExpiresAt.UTC().Truncate(time.Second)
	s.outcome = Outcome{Profile: p.Name, Action: Refreshed, Reason: s.reason, Parameter: p.Parameter, ExpiresAt: &exp, lifetime: tok.ExpiresIn}
}

// hasTime reports whether ctx leaves at least d before its deadline.
func hasTime(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) >= d
}

// resendRequest is the invocation that asks again for what req asked of
// work's profiles, for an on-demand run (forced, or credentials changed)
// that could not take the run lease; "" for a scheduled run, whose
// profiles the next one finds due.
func resendRequest(req Request, work []*state) string {
	var ids []string
	for _, s := range work {
		if req.Force && len(req.CredentialsChanged) == 0 {
			ids = append(ids, s.p.Name)
		} else if !slices.Contains(ids, s.p.SecretID) {
			ids = append(ids, s.p.SecretID)
		}
	}
	quoted, _ := json.Marshal(ids)
	list := strings.ReplaceAll(string(quoted), `","`, `", "`)
	switch {
	case len(req.CredentialsChanged) > 0:
		return `{"credentials_changed": ` + list + `}`
	case req.Force:
		return `{"force": true, "profiles": ` + list + `}`
	}
	return ""
}

// releaseTimeout bounds the release of a lease after a refresh.
const releaseTimeout = 5 * time.Second

// RunLease is the Lease of the runs that refresh the tokens under prefix,
// normalised as record names are: <prefix>/.rotator, so the lease
// parameter is <prefix>/.rotator.lock, which no record can be (records
// never end in .lock).
func RunLease(prefix string) string { return tokenrecord.ParameterName(prefix, ".rotator") }

// errLeaseBudget ends the work of a run whose lease is about to end.
var errLeaseBudget = errors.New("the run's lease is about to expire")
