package rotate

import (
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

// state is one profile's progress through a run.
type state struct {
	p       profile.Profile
	stored  *tokenstore.Stored
	due     bool
	reason  string
	creds   clientcred.Credentials
	outcome Outcome
	// unread: the run's first read of the records failed for this (forced)
	// profile, so the re-read under the lease has nothing to compare with.
	unread bool
	// writeAt is the profile's write slot (see budget.go).
	writeAt time.Time
	// deferWhy says why the profile's token was not requested, when it was
	// deferred (see defer.go).
	deferWhy string
	// cause is why the profile is due when the due rule did not decide it
	// (forced, credentials changed); requested is the reason of the token
	// request this run made ("" when none), early and replacedAfter and
	// prevLifetime describe the token it replaces (see reasons.go).
	cause, requested            Reason
	early                       bool
	replacedAfter, prevLifetime time.Duration
	// attempts is how many HTTP requests the token request sent.
	attempts int
	// proven: skipped because the stored token was requested with the
	// secret's current version; it is not failing (see failures.go).
	proven bool
}

// skip records that s was not refreshed, for reason.
func (s *state) skip(reason string) {
	s.outcome = Outcome{Profile: s.p.Name, Action: Skipped, Reason: reason, Parameter: s.p.Parameter, ExpiresAt: s.storedExpiry()}
}

// fail records that s failed, for reason.
func (s *state) fail(reason string) {
	s.outcome = Outcome{Profile: s.p.Name, Action: Failed, Reason: reason, Parameter: s.p.Parameter, ExpiresAt: s.storedExpiry()}
}

// storedExpiry is when the stored token expires, nil when none is readable.
func (s *state) storedExpiry() *time.Time {
	if s.stored == nil || s.stored.Err != nil {
		return nil
	}
	t := s.stored.Record.ExpiresAt
	return &t
}
