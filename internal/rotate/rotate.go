// Package rotate decides which profiles' tokens are due, fetches those and
// publishes them, and reports the run.
//
// A token is due when its record is missing or unreadable, when it was
// issued for another request configuration (token URL, audience, scope,
// params or client id), or when less than refresh_before (brought forward by
// a small per-token spread, see Rotator.Spread) is left before expires_at.
// Nothing else is refreshed: the providers require each token to be reused
// for its whole lifetime.
//
// A run reads only the secrets of due profiles, each distinct secret once.
// Every profile is tried; one failing profile never stops the others, and a
// failed refresh never touches the stored token. Two runs at once never
// fetch the same profile twice: a run with something due takes one lease
// (Rotator.Lease) before fetching and re-reads the due records under it.
//
// A Rotator may run several Runs at once; its fields must not change while
// it runs.
package rotate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"sort"
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

// Fetcher requests tokens; *oauth.Client satisfies it.
type Fetcher interface {
	Fetch(ctx context.Context, r oauth.Request) (oauth.Token, error)
}

// Store reads and writes records; *tokenstore.Store satisfies it.
type Store interface {
	Read(ctx context.Context, names []string) (map[string]tokenstore.Stored, error)
	Write(ctx context.Context, name string, rec tokenrecord.Record) (int64, error)
	Lock(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (func(context.Context), error)
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
	// Lease + ".lock" (see tokenstore.Lock). Required: every run that may
	// refresh the same tokens must use the same name, RunLease of their
	// parameter prefix.
	Lease string
	// LeaseTTL is how long a run's lease lasts if the run dies without
	// releasing it (default 2m). Everything a run does under the lease is
	// bounded to 7/8 of it.
	LeaseTTL time.Duration
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
	// whether due or not.
	Force bool `json:"force"`
	// Profiles restricts the run to these profiles.
	Profiles []string `json:"profiles,omitempty"`
	// CheckCredentials reads the secrets of every selected profile and
	// refreshes those whose client id changed since their token was issued.
	// A scheduled run cannot see such a change without reading secrets,
	// which it does only for due profiles; schedule this less often.
	CheckCredentials bool `json:"check_credentials,omitempty"`
}

// Action is what a run did with a profile.
type Action string

// The actions.
const (
	Refreshed Action = "refreshed"
	Skipped   Action = "skipped"
	Failed    Action = "failed"
)

// Outcome is one profile's result.
type Outcome struct {
	Profile   string `json:"profile"`
	Action    Action `json:"action"`
	Reason    string `json:"reason"`
	Parameter string `json:"parameter"`
	// ExpiresAt is when the token now stored expires (nil when none is).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Summary is a run's answer.
type Summary struct {
	Refreshed []Outcome `json:"refreshed"`
	Skipped   []Outcome `json:"skipped"`
	Failed    []Outcome `json:"failed"`
}

// Outcomes returns every outcome, sorted by profile.
func (s Summary) Outcomes() []Outcome {
	all := append(append(append([]Outcome{}, s.Refreshed...), s.Skipped...), s.Failed...)
	sort.Slice(all, func(i, j int) bool { return all[i].Profile < all[j].Profile })
	return all
}

// RunError reports the profiles a run could not refresh.
type RunError struct {
	Failed []Outcome
}

func (e *RunError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, o := range e.Failed {
		parts[i] = fmt.Sprintf("%s (%s)", o.Profile, o.Reason)
	}
	return fmt.Sprintf("rotate: %d profile(s) failed: %s", len(e.Failed), strings.Join(parts, "; "))
}

// ErrUnknownProfile is returned when a request names a profile that is not
// in the document; nothing is done.
var ErrUnknownProfile = errors.New("rotate: unknown profile")

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
}

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
		case req.Force:
			s.due, s.reason = true, "forced"
			s.unread = readErr != nil && s.stored == nil
		case readErr != nil && s.stored == nil:
			s.fail(fmt.Sprintf("cannot read stored records: %v", readErr))
		default:
			s.due, s.reason = r.isDue(s.p, s.stored, now)
		}
	}

	r.readSecrets(ctx, states, req.CheckCredentials)
	r.refresh(ctx, states, req.Force, now)

	sum := Summary{Refreshed: []Outcome{}, Skipped: []Outcome{}, Failed: []Outcome{}}
	for _, s := range states {
		o := s.outcome
		switch o.Action {
		case Refreshed:
			sum.Refreshed = append(sum.Refreshed, o)
		case Skipped:
			sum.Skipped = append(sum.Skipped, o)
		default:
			sum.Failed = append(sum.Failed, o)
		}
		r.log(ctx, o)
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

// isDue applies the due rule to a stored record without reading secrets.
func (r *Rotator) isDue(p profile.Profile, st *tokenstore.Stored, now time.Time) (bool, string) {
	switch {
	case st == nil:
		return true, "no stored token"
	case st.Err != nil:
		return true, "stored record unreadable: " + st.Err.Error()
	}
	rec := st.Record
	switch {
	case rec.Profile != p.Name:
		return true, fmt.Sprintf("stored record belongs to profile %q", rec.Profile)
	case fingerprintPart(rec.Fingerprint, 0) != configHash(p):
		return true, "configuration changed (token URL, audience, scope or params)"
	}
	if refreshAt := r.RefreshAt(p, rec); !now.Before(refreshAt) {
		return true, fmt.Sprintf("expires at %s, refresh due at %s", rec.ExpiresAt.Format(time.RFC3339), refreshAt.Format(time.RFC3339))
	}
	return false, "valid until " + rec.ExpiresAt.Format(time.RFC3339)
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
				s.due, s.reason = true, "client id changed"
			}
		}
	})
}

// refresh fetches and publishes every due profile with credentials, and
// records the outcome of the rest. A run with nothing to fetch takes no
// lease; otherwise everything it fetches, it fetches under its lease.
func (r *Rotator) refresh(ctx context.Context, states []*state, force bool, runStart time.Time) {
	var work []*state
	for _, s := range states {
		switch {
		case s.outcome.Action == Failed:
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
	// The lease runs from before it is asked for (Lock may retry), on the
	// real clock: everything under it, the release included, must end
	// before it does, or another run could take it over and fetch the same
	// tokens. Re-reads and token requests end at 3/4 of it, so that a token
	// fetched in time still has time to be stored; writes end at 7/8, the
	// release at 15/16.
	ttl := r.leaseTTL()
	start := time.Now()
	leaseEnd := start.Add(ttl)
	release, err := r.Store.Lock(ctx, r.Lease, r.Owner, r.now(), ttl)
	if err != nil {
		for _, s := range work {
			if errors.Is(err, tokenstore.ErrLocked) {
				s.skip("another rotator run is refreshing tokens")
			} else {
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
	ctx, cancel := context.WithDeadlineCause(ctx, start.Add(ttl-ttl/4), errLeaseBudget)
	defer cancel()

	work = r.recheck(ctx, work, force, runStart)
	hosts := &breakers{}
	forEach(ctx, r.concurrency(), work, func(ctx context.Context, s *state) { r.refreshOne(ctx, writeCtx, s, hosts) })
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
					if due, _ := r.isDue(s.p, &st, r.now()); !due {
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

// refreshOne fetches one due profile's token (within ctx) and publishes it
// (within writeCtx, which ends later, so that a token fetched in time is
// stored).
func (r *Rotator) refreshOne(ctx, writeCtx context.Context, s *state, hosts *breakers) {
	p := s.p
	if ctx.Err() != nil {
		s.fail("run ended before this profile was refreshed: " + context.Cause(ctx).Error())
		return
	}
	host := hostOf(p.TokenURL)
	if reason, open := hosts.open(host); open {
		s.fail(reason)
		return
	}
	sent := r.now()
	tok, err := r.Fetcher.Fetch(ctx, oauth.NewRequest(p, s.creds))
	if err != nil {
		hosts.failed(host, p.Name, err)
		s.fail(err.Error())
		return
	}
	rec := tokenrecord.Record{
		AccessToken: tok.AccessToken, TokenType: tok.TokenType, Profile: p.Name,
		IssuedAt: sent, ExpiresAt: sent.Add(tok.ExpiresIn), Fingerprint: fingerprint(p, s.creds.ClientID),
	}
	if tok.ExpiresIn <= p.RefreshBefore {
		r.logger().LogAttrs(ctx, slog.LevelWarn, "token lifetime not longer than refresh_before: it will be fetched on every run",
			slog.String("profile", p.Name), slog.Duration("lifetime", tok.ExpiresIn), slog.Duration("refresh_before", p.RefreshBefore))
	}
	if _, err := r.Store.Write(writeCtx, p.Parameter, rec); err != nil {
		s.fail(err.Error())
		return
	}
	exp := rec.ExpiresAt.UTC().Truncate(time.Second)
	s.outcome = Outcome{Profile: p.Name, Action: Refreshed, Reason: s.reason, Parameter: p.Parameter, ExpiresAt: &exp}
}

// releaseTimeout bounds the release of a lease after a refresh.
const releaseTimeout = 5 * time.Second

// breakerThreshold is how many profiles of one token endpoint host must
// fail with a transient error (retries exhausted) before the rest of that
// host's profiles fail at once in the same run, so that one endpoint that
// is down cannot use up the run's time and starve other providers.
const breakerThreshold = 2

// breakers counts transient failures per token endpoint host in one run.
type breakers struct {
	mu    sync.Mutex
	count map[string]int
	last  map[string]string
}

func (b *breakers) open(host string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count[host] < breakerThreshold {
		return "", false
	}
	return fmt.Sprintf("not requested: %d other profiles of %s failed in this run (last: %s); the next run tries again", b.count[host], host, b.last[host]), true
}

func (b *breakers) failed(host, profile string, err error) {
	var oe *oauth.Error
	if !errors.As(err, &oe) || !oe.Retryable {
		return // a 4xx is about this profile, not the endpoint
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count == nil {
		b.count, b.last = map[string]int{}, map[string]string{}
	}
	b.count[host]++
	b.last[host] = profile
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Host
}

func (s *state) skip(reason string) {
	s.outcome = Outcome{Profile: s.p.Name, Action: Skipped, Reason: reason, Parameter: s.p.Parameter, ExpiresAt: s.storedExpiry()}
}

func (s *state) fail(reason string) {
	s.outcome = Outcome{Profile: s.p.Name, Action: Failed, Reason: reason, Parameter: s.p.Parameter, ExpiresAt: s.storedExpiry()}
}

func (s *state) storedExpiry() *time.Time {
	if s.stored == nil || s.stored.Err != nil {
		return nil
	}
	t := s.stored.Record.ExpiresAt
	return &t
}

func (r *Rotator) log(ctx context.Context, o Outcome) {
	level := slog.LevelInfo
	if o.Action == Failed {
		level = slog.LevelError
	}
	attrs := []slog.Attr{slog.String("profile", o.Profile), slog.String("action", string(o.Action)), slog.String("reason", o.Reason), slog.String("parameter", o.Parameter)}
	if o.ExpiresAt != nil {
		attrs = append(attrs, slog.Time("expires_at", *o.ExpiresAt))
	}
	r.logger().LogAttrs(ctx, level, "profile "+string(o.Action), attrs...)
}

// fingerprint identifies the request configuration a token was issued for:
// a hash of the token URL, audience, scope and params, and one of the client
// id. It never contains the client secret.
func fingerprint(p profile.Profile, clientID string) string {
	return "v1:" + configHash(p) + ":" + clientHash(clientID)
}

func configHash(p profile.Profile) string {
	keys := slices.Sorted(maps.Keys(p.Params))
	params := make([][2]string, len(keys))
	for i, k := range keys {
		params[i] = [2]string{k, p.Params[k]}
	}
	b, _ := json.Marshal([]any{p.TokenURL, p.Audience, p.Scope, params})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func clientHash(clientID string) string {
	sum := sha256.Sum256([]byte("client_id:" + clientID))
	return hex.EncodeToString(sum[:8])
}

// fingerprintPart returns part i (0: configuration, 1: client id) of a v1
// fingerprint, or "" for any other format.
func fingerprintPart(fp string, i int) string {
	parts := strings.Split(fp, ":")
	if len(parts) != 3 || parts[0] != "v1" {
		return ""
	}
	return parts[1+i]
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

// RunLease is the Lease of the runs that refresh the tokens under prefix,
// normalised as record names are: <prefix>/.rotator, so the lease
// parameter is <prefix>/.rotator.lock, which no record can be (records
// never end in .lock).
func RunLease(prefix string) string { return tokenrecord.ParameterName(prefix, ".rotator") }

// errLeaseBudget ends the work of a run whose lease is about to end.
var errLeaseBudget = errors.New("the run's lease is about to expire")

func (r *Rotator) leaseTTL() time.Duration {
	if r.LeaseTTL > 0 {
		return r.LeaseTTL
	}
	return DefaultLeaseTTL
}
