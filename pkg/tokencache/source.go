package tokencache

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Source is one cached token: a profile's (Cache.Source) or a parameter's
// (Cache.SourceByParameter). Keep it, or look it up again: the lookup is cheap and
// returns the same Source. It is safe for concurrent use.
//
// A token is served from memory while now + Config.Skew is before the
// record's expires_at and the record was read less than Config.MaxAge ago;
// then the parameter is read again (GetParameter, WithDecryption), in one
// read shared by every waiting caller, so that a long-running process
// follows the record as the rotator replaces it. When a read fails while
// the cached token is still valid, that token is served (counted in
// Stats.StaleServed, a warning logged once); an expired token is never
// served. After a failed read, and after a rejected token was read again,
// the parameter is read at most once per Config.MinReadInterval, so that a
// rotator outage or a partner API that rejects every request cannot turn
// every call into an SSM read.
type Source struct {
	c       *Cache
	profile string // empty for a Source named by parameter
	param   string
	invalid error // the name is invalid: every call fails with it

	cur    atomic.Pointer[entry] // nil until the first read, and after Invalidate
	flight singleflight.Group    // one read at a time, shared by all waiting callers
}

// entry is what the last read of a parameter left. It is never modified once
// published; a read publishes a new one.
type entry struct {
	token      string    // empty when no valid token was ever read (or it was invalidated)
	expiresAt  time.Time // the token's (or an expired record's) expires_at
	validUntil time.Time // expiresAt - skew: the token is served strictly before it
	refreshAt  time.Time // read again from then on: maximum age, or minimum read interval (and spread) after a failure
	readAt     time.Time // when the last read ended
	stale      bool      // token comes from an earlier read; the last one failed
	// invalidated is the token an Invalidate dropped: the entry that
	// replaces a dropped one holds no token and forces a read.
	invalidated string
	// rejected: this read returned the very token the last Invalidate
	// dropped (the rotator has not replaced it yet), so further rejections
	// of it do not cause reads within MinReadInterval.
	rejected bool

	kind error // the last read's failure: ErrNotFound, …; nil after a good read
	err  error // its cause
}

// servable reports whether e's token may be served at now without a read.
func (e *entry) servable(now time.Time) bool {
	return now.Before(e.refreshAt) && now.Before(e.validUntil)
}

// held reports whether e records a failed read recent enough that the
// parameter must not be read again yet.
func (e *entry) held(now time.Time) bool {
	return e.kind != nil && now.Before(e.refreshAt)
}

// Profile returns the profile name the Source was built for, or "" for a
// Source named by parameter.
func (s *Source) Profile() string { return s.profile }

// Parameter returns the SSM parameter name the Source reads.
func (s *Source) Parameter() string { return s.param }

// Token returns a valid access token: from memory when the cached one is
// valid (now + skew before expires_at) and was read less than the maximum
// age ago; otherwise after reading the parameter, sharing the read with any
// other callers waiting for it. If that read fails while the cached token is
// still valid, the cached token is returned. Otherwise the error is an
// *Error naming the profile and the parameter; see the Err variables for its
// kinds. When ctx ends first, Token returns at once with an *Error wrapping
// ctx.Err(), and the read goes on for the next caller.
//
// A hit takes no lock and does not allocate.
func (s *Source) Token(ctx context.Context) (string, error) {
	now := s.c.now()
	if e := s.cur.Load(); e != nil && e.servable(now) {
		s.c.stats.hits.Add(1)
		if e.stale {
			s.c.stats.stale.Add(1)
		}
		return e.token, nil
	}
	return s.miss(ctx)
}

func (s *Source) miss(ctx context.Context) (string, error) {
	c := s.c
	c.stats.misses.Add(1)
	if s.invalid != nil {
		return "", s.errorWith(s.invalid)
	}
	e := s.cur.Load()
	for again := true; e == nil || !e.held(c.now()); again = false {
		if err := ctx.Err(); err != nil {
			return "", s.errorWith(err)
		}
		ch := s.flight.DoChan("", func() (any, error) { return s.read(ctx), nil })
		select {
		case r := <-ch:
			e = r.Val.(*entry)
		case <-ctx.Done():
			return "", s.errorWith(ctx.Err())
		}
		// Invalidate may drop the token the flight read after the read
		// published it, before the flight answered (the read logs in
		// between): a call made after that rejection joined the flight and
		// must not be served the token. Go round once more, for a read
		// that starts after the rejection.
		if cur := s.cur.Load(); !again || e.token == "" || cur == e || cur.invalidated != e.token {
			break
		}
	}
	if e.token != "" && c.now().Before(e.validUntil) {
		if e.stale {
			c.stats.stale.Add(1)
		}
		return e.token, nil
	}
	return "", s.errorFor(e)
}

// errorWith is the *Error of this Source, caused by err.
func (s *Source) errorWith(err error) *Error {
	return &Error{Profile: s.profile, Parameter: s.param, Role: s.c.roleARN, Err: err}
}

// errorFor describes why e has no token to serve.
func (s *Source) errorFor(e *entry) *Error {
	err := s.errorWith(e.err)
	err.Kind = e.kind
	if e.kind == nil || e.kind == ErrExpired {
		// A good read whose token has expired since, or an expired record.
		err.Kind, err.ExpiresAt = ErrExpired, e.expiresAt
	}
	return err
}

// read reads the parameter and publishes the outcome. It runs inside the
// flight, so at most one read of a Source is in progress; only Invalidate
// may replace the entry meanwhile.
func (s *Source) read(ctx context.Context) *entry {
	old := s.cur.Load()
	if now := s.c.now(); old != nil && (old.servable(now) || old.held(now)) {
		return old // another flight has just read it
	}
	// The read serves every waiting caller, so the first caller's
	// cancellation must not cut it short; its own timeout bounds it.
	ctx = context.WithoutCancel(ctx)
	r, again := s.fetch(ctx), true
	for {
		next := s.outcome(old, r)
		if s.cur.CompareAndSwap(old, next) {
			s.report(old, next)
			return next
		}
		// Invalidate dropped old's token while the read was in flight: the
		// entry now holds no token, and Invalidate cannot replace it.
		old = s.cur.Load()
		if again && r.kind == nil && r.rec.AccessToken == old.invalidated {
			// SSM may have answered before the partner rejected the token:
			// only a read that starts after the rejection may bring it back.
			r, again = s.fetch(ctx), false
		}
	}
}

// outcome returns the entry that replaces old after read r.
func (s *Source) outcome(old *entry, r result) *entry {
	c := s.c
	if r.kind == nil {
		next := &entry{
			token:      r.rec.AccessToken,
			expiresAt:  r.rec.ExpiresAt,
			validUntil: r.rec.ExpiresAt.Add(-c.skew),
			readAt:     r.at,
			rejected:   old != nil && old.invalidated != "" && old.invalidated == r.rec.AccessToken,
		}
		next.refreshAt = next.validUntil
		if c.maxAge > 0 {
			// Spread over the last fifth of the maximum age, so that
			// processes started together do not read again together.
			next.refreshAt = r.at.Add(c.maxAge - spread(c.maxAge/5))
		}
		return next
	}
	next := &entry{
		expiresAt: r.rec.ExpiresAt,
		readAt:    r.at,
		// Spread over the half of the minimum read interval that follows
		// it, so that processes whose reads failed together do not read
		// again together.
		refreshAt: r.at.Add(c.minReadInterval + spread(c.minReadInterval/2)),
		kind:      r.kind,
		err:       r.err,
	}
	switch {
	case old == nil:
	case old.token != "" && r.at.Before(old.validUntil):
		next.token, next.expiresAt, next.validUntil, next.stale = old.token, old.expiresAt, old.validUntil, true
	default:
		// No token to serve: keep the mark of the last one rejected, for
		// the read that returns it again.
		next.invalidated = old.invalidated
	}
	return next
}

// report counts and logs the outcome of a read that replaced old by next.
func (s *Source) report(old, next *entry) {
	c := s.c
	if next.kind == nil {
		if old != nil && old.stale {
			c.log.Info("tokencache: token record read again after failed reads",
				"profile", s.profile, "parameter", s.param, "expires_at", next.expiresAt)
		}
		return
	}
	c.stats.readErrors.Add(1)
	if next.stale && !old.stale {
		c.log.Warn("tokencache: serving the cached token: reading its record failed",
			"profile", s.profile, "parameter", s.param, "expires_at", old.expiresAt,
			"error", s.errorFor(next).Error())
	}
}

// Invalidate drops token from the cache, if the cache still holds it, so
// that the next Token call reads the parameter again. Call it when a partner
// API rejects token (401). It reports whether the token was dropped: false
// when the cache holds another token (another caller has already replaced
// it, so a burst of rejections causes one read) or holds none. The first
// rejection of a token always causes one read that starts after it: a read
// already in flight, whose answer may predate the rejection, serves the
// dropped token neither from its answer (the parameter is read once more)
// nor as the stale token of a failure. If that read returns the same
// token (the rotator has not replaced it yet), further rejections of it are
// ignored until Config.MinReadInterval has passed since that read, so that a
// partner API that rejects every request cannot turn each request into an
// SSM read.
func (s *Source) Invalidate(token string) bool {
	e := s.cur.Load()
	if e == nil || token == "" || e.token != token {
		return false
	}
	if e.rejected && s.c.minReadInterval > 0 && s.c.now().Sub(e.readAt) < s.c.minReadInterval {
		return false
	}
	return s.cur.CompareAndSwap(e, &entry{invalidated: token, readAt: e.readAt})
}
