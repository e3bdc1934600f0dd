package rotate

import (
	"cmp"
	"errors"
	"log/slog"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
)

// Reason says why a token was requested. Every token request a run makes
// is counted with one (Outcome.TokenRequest, the TokenRequests metric, the
// token_request field of the profile's log line): the reuse audit an
// operator shows a partner.
type Reason string

// The reasons for a token request.
const (
	// ReasonMissing: the profile had no stored record.
	ReasonMissing Reason = "missing"
	// ReasonUnreadable: the stored record could not be read.
	ReasonUnreadable Reason = "unreadable"
	// ReasonExpiring: the stored token reached its refresh moment
	// (refresh_before ahead of expiry, brought forward by its spread).
	ReasonExpiring Reason = "expiring"
	// ReasonConfigChanged: the stored token was issued for another token
	// URL, audience, scope or params (or another profile).
	ReasonConfigChanged Reason = "configuration-changed"
	// ReasonForced: an operator asked for it ({"force": true}).
	ReasonForced Reason = "forced"
	// ReasonCredentialsChanged: the profile's secret has a new value (a
	// Secrets Manager change event, or a check_credentials run that found
	// another client id).
	ReasonCredentialsChanged Reason = "credentials-changed"
)

// Reasons lists every Reason, in the order the audit prints them.
var Reasons = []Reason{ReasonMissing, ReasonUnreadable, ReasonExpiring, ReasonConfigChanged, ReasonForced, ReasonCredentialsChanged}

// Excused reports whether a request for this reason may come within a
// token's lifetime without breaking the providers' reuse policies: an
// operator forced it, or the token was issued for a configuration or
// credentials that no longer hold. Early requests for any other reason
// are counted (Outcome.EarlyRequest) and alarmed on.
func (r Reason) Excused() bool {
	return r == ReasonForced || r == ReasonConfigChanged || r == ReasonCredentialsChanged
}

// earlyShare is the share of its lifetime a token must have been used
// before a request that replaces it is not early. The due rule refreshes a
// token at least (lifetime - refresh_before)/2 after it was issued (the
// spread takes at most half of what is left after refresh_before), and in
// practice after 0.67 to 0.92 of it for 1 h tokens with refresh_before
// 10m, 0.95 to 0.99 for 24 h tokens with 15m (the spread window, then the
// 5-minute schedule; docs/operating.md gives the same figures, which
// TestReuseAudit checks): a request before half the lifetime means the
// token was not reused for its lifetime (a lifetime shorter than
// refresh_before, say, which refreshes on every run).
const earlyShare = 0.5

// request notes that s's token is requested now, at sent: why (s.cause, or
// else due, what the due rule says of the stored record), and how long the
// token it replaces had been used.
func (s *state) request(sent time.Time, due Reason) {
	s.requested = cmp.Or(s.cause, due, ReasonExpiring)
	if s.stored == nil || s.stored.Err != nil || s.stored.Record.Profile != s.p.Name {
		return
	}
	prev := s.stored.Record
	s.replacedAfter, s.prevLifetime = sent.Sub(prev.IssuedAt), prev.Lifetime()
	s.early = !s.requested.Excused() && s.prevLifetime > 0 &&
		float64(s.replacedAfter) < earlyShare*float64(s.prevLifetime)
}

// unrequest undoes request: the fetch sent nothing, so no token request is
// counted.
func (s *state) unrequest() {
	s.requested, s.early, s.replacedAfter, s.prevLifetime = "", false, 0, 0
}

// attempts is how many HTTP requests a fetch sent: what its token or its
// *oauth.Error says (a Fetcher that does not say sent one).
func attempts(tok oauth.Token, err error) int {
	var oe *oauth.Error
	switch {
	case err == nil:
		return max(tok.Attempts, 1)
	case errors.As(err, &oe):
		return oe.Attempts
	}
	return 1
}

// auditAttrs are the reuse audit's fields of a profile's log line: why a
// token was requested, the HTTP requests it sent (attempts: retries
// included, each of which the provider may have counted), how much of the
// replaced token's lifetime was used
// (replaced_after_s of previous_lifetime_s), the new token's lifetime, and
// early_request when the request counts against the reuse policy.
func (o Outcome) auditAttrs() []slog.Attr {
	if o.TokenRequest == "" {
		return nil
	}
	attrs := []slog.Attr{slog.String("token_request", string(o.TokenRequest)), slog.Int("attempts", o.Attempts)}
	if o.prevLifetime > 0 {
		attrs = append(attrs, slog.Int64("replaced_after_s", int64(o.replacedAfter.Seconds())),
			slog.Int64("previous_lifetime_s", int64(o.prevLifetime.Seconds())))
	}
	if o.lifetime > 0 {
		attrs = append(attrs, slog.Int64("lifetime_s", int64(o.lifetime.Seconds())))
	}
	if o.EarlyRequest {
		attrs = append(attrs, slog.Bool("early_request", true))
	}
	return attrs
}
