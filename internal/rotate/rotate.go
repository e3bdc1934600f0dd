package rotate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// Secrets reads client credentials; *clientcred.Reader satisfies it.
type Secrets interface {
	Get(ctx context.Context, secretID string) (clientcred.Credentials, error)
}

// Fetcher requests tokens; *oauth.Client satisfies it. A Fetcher that also
// has an AttemptTimeout() time.Duration method (as *oauth.Client) says how
// long one request may take; otherwise oauth.DefaultRequestTimeout is
// assumed. A run requests a token only with that much of its time left.
type Fetcher interface {
	Fetch(ctx context.Context, r oauth.Request) (oauth.Token, error)
}

// Store reads and writes records; *tokenstore.Store satisfies it.
type Store interface {
	Read(ctx context.Context, names []string) (map[string]tokenstore.Stored, error)
	Write(ctx context.Context, name string, rec tokenrecord.Record) (int64, error)
	Lease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (func(context.Context), error)
}

var (
	_ Secrets = (*clientcred.Reader)(nil)
	_ Fetcher = (*oauth.Client)(nil)
	_ Store   = (*tokenstore.Store)(nil)
)

// Defaults for Rotator's zero fields.
const (
	DefaultConcurrency = 16
	DefaultLeaseTTL    = 2 * time.Minute
	DefaultSpread      = 0.05
	DefaultMaxSpread   = time.Hour
	DefaultMinSpread   = 10 * time.Minute
	// DefaultWriteRate is PutParameter's standard-throughput quota as AWS
	// Support quotes it (3 per second per account and region; 10 with
	// higher throughput). It is not documented and other applications in
	// the account share it.
	DefaultWriteRate = 3.0
	// DefaultInterval is the schedule's rate(5 minutes).
	DefaultInterval = 5 * time.Minute
)

// Rotator keeps one valid token per profile.
type Rotator struct {
	Profiles []profile.Profile
	Secrets  Secrets
	Fetcher  Fetcher
	Store    Store
	// Concurrency bounds the profiles refreshed (and secrets read) at once
	// (default 16).
	Concurrency int
	// Lease names the lease a run holds while it refreshes: the parameter
	// Lease + ".lock" (see tokenstore.Store.Lease). Required: every run that may
	// refresh the same tokens must use the same name, RunLease of their
	// parameter prefix.
	Lease string
	// LeaseTTL is how long a run's lease lasts if the run dies without
	// releasing it. Everything a run does under the lease is bounded to 7/8
	// of it (see the package doc). Zero sizes it to the run's work: the
	// time its writes take at WriteRate, plus room for the last one's
	// token request (the Fetcher's request timeout) and more (at least
	// 2m). Set or sized, it never runs past the deadline of the run's
	// context (the Lambda's own deadline, after which the run cannot be
	// alive).
	LeaseTTL time.Duration
	// WriteRate is the PutParameter calls per second this rotator may make:
	// the account's PutParameter quota less what other applications in the
	// account and region use (default DefaultWriteRate, 3/s; 10/s once the
	// account has Parameter Store's higher throughput). A run paces its
	// writes to it, requests a token only when its write fits before the
	// run's write deadline, and defers the rest, most urgent first (see the
	// package doc). Negative means unpaced.
	WriteRate float64
	// Interval is how often scheduled runs come (default 5m). A deferred
	// profile whose stored token expires before the next runs would write
	// it is a failure (see the package doc).
	Interval time.Duration
	// Sleep waits for d or until ctx ends (returning its error); nil means
	// a timer. Simulations pass one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Spread brings each token's refresh forward by a deterministic
	// per-token amount in [0, window), so tokens fetched together do not
	// all fall due in the same run later. The window is Spread of the
	// token's lifetime, at most MaxSpread and at least MinSpread (so that
	// short tokens, such as 1 h ones, still spread over more than one
	// 5-minute run), and never more than half the lifetime left after
	// refresh_before. A refresh is never later than refresh_before.
	// Defaults 0.05, 1h and 10m; a negative Spread disables it.
	Spread               float64
	MaxSpread, MinSpread time.Duration
	// Failures names the failure record (FailureRecord of the parameter
	// prefix): which profiles are failing, since when and why, for Status.
	// Empty, or a Store that is not a FailureStore, keeps none.
	Failures string
	// Owner names this run in leases (a Lambda request id, say).
	Owner string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per profile per run; nil means slog.Default.
	Logger *slog.Logger
}

// Request is what a run is asked to do. The zero value is a scheduled run.
type Request struct {
	// Force refreshes the named profiles (all when Profiles is empty) now,
	// whether due or not. While another run holds the run lease they fail,
	// their reason giving the invocation to resend (a scheduled run's due
	// profiles are skipped instead: the next run finds them due).
	Force bool `json:"force"`
	// Profiles restricts the run to these profiles.
	Profiles []string `json:"profiles,omitempty"`
	// CheckCredentials reads the secrets of every selected profile and
	// refreshes those whose client id changed since their token was issued.
	// A scheduled run cannot see such a change without reading secrets,
	// which it does only for due profiles; schedule this less often.
	CheckCredentials bool `json:"check_credentials,omitempty"`
	// CredentialsChanged names secrets (by name or ARN) that have a new
	// value: the profiles that use them are refreshed now, one token
	// request each (ReasonCredentialsChanged), proving the new
	// credentials, unless the secret's current version is the one their
	// stored token was requested with (Record.SecretVersion): those are
	// skipped, nothing new to prove. Refused credentials fail those profiles and keep their
	// stored tokens, as does another run's lease (the reason gives the
	// invocation to resend). A secret no profile uses is logged and ignored.
	CredentialsChanged []string `json:"credentials_changed,omitempty"`
}

// ErrUnknownProfile is returned when a request names a profile that is not
// in the document; nothing is done.
var ErrUnknownProfile = errors.New("rotate: unknown profile")

// Run performs one rotation. It returns the summary and, when any profile
// failed, a *RunError naming each (the summary is complete either way).
func (r *Rotator) Run(ctx context.Context, req Request) (Summary, error) {
	if r.Lease == "" {
		return Summary{}, errors.New("rotate: Rotator.Lease is not set (use RunLease of the parameter prefix)")
	}
	selected, err := r.selectProfiles(req.Profiles)
	if err != nil {
		return Summary{}, err
	}
	changed := len(req.CredentialsChanged) > 0
	if changed {
		if selected = r.usingSecrets(ctx, selected, req.CredentialsChanged); len(selected) == 0 {
			return EmptySummary(), nil
		}
	}
	now := r.now()
	states := make([]*state, len(selected))
	names := make([]string, len(selected))
	for i, p := range selected {
		states[i] = &state{p: p}
		names[i] = p.Parameter
	}

	stored, readErr := r.Store.Read(ctx, names)
	for _, s := range states {
		if st, ok := stored[s.p.Parameter]; ok {
			s.stored = &st
		}
		switch {
		case changed:
			s.due, s.reason, s.cause = true, "credentials changed: secret "+s.p.SecretID+" has a new value", ReasonCredentialsChanged
			s.unread = readErr != nil && s.stored == nil
		case req.Force:
			s.due, s.reason, s.cause = true, "forced", ReasonForced
			s.unread = readErr != nil && s.stored == nil
		case readErr != nil && s.stored == nil:
			s.fail(fmt.Sprintf("cannot read stored records: %v", readErr))
		default:
			var due Reason
			due, s.reason = r.isDue(s.p, s.stored, now)
			s.due = due != ""
		}
	}

	r.readSecrets(ctx, states, req.CheckCredentials)
	r.refresh(ctx, states, req, now)

	sum := EmptySummary()
	for _, s := range states {
		o := s.outcome
		o.TokenRequest, o.EarlyRequest, o.replacedAfter, o.prevLifetime = s.requested, s.early, s.replacedAfter, s.prevLifetime
		if s.requested != "" {
			o.Attempts = s.attempts
		}
		switch o.Action {
		case Refreshed:
			sum.Refreshed = append(sum.Refreshed, o)
		case Skipped:
			sum.Skipped = append(sum.Skipped, o)
		case Deferred:
			sum.Deferred = append(sum.Deferred, o)
		default:
			sum.Failed = append(sum.Failed, o)
		}
		r.log(ctx, o)
	}
	if changed {
		r.logRefused(ctx, sum.Failed)
	}
	if readErr == nil { // SSM failed this run's reads: leave it alone, the next run updates the record
		r.recordFailures(ctx, states)
	}
	if len(sum.Failed) > 0 {
		return sum, &RunError{Failed: sum.Failed}
	}
	return sum, nil
}

func (r *Rotator) selectProfiles(names []string) ([]profile.Profile, error) {
	if len(names) == 0 {
		return r.Profiles, nil
	}
	byName := make(map[string]profile.Profile, len(r.Profiles))
	for _, p := range r.Profiles {
		byName[p.Name] = p
	}
	var out []profile.Profile
	var unknown []string
	seen := map[string]bool{}
	for _, n := range names {
		p, ok := byName[n]
		switch {
		case !ok:
			unknown = append(unknown, fmt.Sprintf("%q", n))
		case !seen[n]:
			seen[n] = true
			out = append(out, p)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: %s (known: %s)", ErrUnknownProfile, strings.Join(unknown, ", "), strings.Join(profile.Names(r.Profiles), ", "))
	}
	return out, nil
}

// forEach runs fn on every item with at most n at once.
func forEach[T any](ctx context.Context, n int, items []T, fn func(context.Context, T)) {
	if len(items) == 0 {
		return
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(ctx, it)
		}()
	}
	wg.Wait()
}

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Rotator) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Rotator) concurrency() int {
	if r.Concurrency > 0 {
		return r.Concurrency
	}
	return DefaultConcurrency
}
