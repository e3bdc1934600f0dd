package rotate

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// isDue applies the due rule to a stored record without reading secrets:
// the Reason a token would be requested for now, "" when it is not due, and
// what the rule found, in words.
func (r *Rotator) isDue(p profile.Profile, st *tokenstore.Stored, now time.Time) (Reason, string) {
	switch {
	case st == nil:
		return ReasonMissing, "no stored token"
	case st.Err != nil:
		return ReasonUnreadable, "stored record unreadable: " + st.Err.Error()
	}
	rec := st.Record
	switch {
	case rec.Profile != p.Name:
		return ReasonConfigChanged, fmt.Sprintf("stored record belongs to profile %q", rec.Profile)
	case fingerprintPart(rec.Fingerprint, 0) != configHash(p):
		return ReasonConfigChanged, "configuration changed (token URL, audience, scope or params)"
	}
	if refreshAt := r.RefreshAt(p, rec); !now.Before(refreshAt) {
		return ReasonExpiring, fmt.Sprintf("expires at %s, refresh due at %s", rec.ExpiresAt.Format(time.RFC3339), refreshAt.Format(time.RFC3339))
	}
	return "", "valid until " + rec.ExpiresAt.Format(time.RFC3339)
}

// RefreshAt is when a stored token falls due: refresh_before ahead of
// expiry, brought forward by its spread.
func (r *Rotator) RefreshAt(p profile.Profile, rec tokenrecord.Record) time.Time {
	return rec.ExpiresAt.Add(-p.RefreshBefore - r.spread(p, rec))
}

// SpreadWindow is how far ahead of refresh_before a token of profile p with
// the given lifetime may be refreshed (see Rotator.Spread).
func (r *Rotator) SpreadWindow(p profile.Profile, lifetime time.Duration) time.Duration {
	frac := cmp.Or(r.Spread, DefaultSpread)
	if frac < 0 {
		return 0
	}
	w := min(time.Duration(frac*float64(lifetime)), cmp.Or(r.MaxSpread, DefaultMaxSpread))
	w = max(w, cmp.Or(r.MinSpread, DefaultMinSpread))
	return max(0, min(w, (lifetime-p.RefreshBefore)/2))
}

// spread is deterministic per token (profile and issue time), so every run
// computes the same refresh time for it.
func (r *Rotator) spread(p profile.Profile, rec tokenrecord.Record) time.Duration {
	window := r.SpreadWindow(p, rec.Lifetime())
	if window <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(p.Name))
	h.Write([]byte(rec.IssuedAt.UTC().Format(time.RFC3339)))
	u := float64(h.Sum64()>>11) / float64(1<<53)
	return time.Duration(u * float64(window))
}
