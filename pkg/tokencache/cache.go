package tokencache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// Defaults for the zero values of Config's fields.
const (
	// DefaultSkew is the margin kept before a token's expires_at.
	DefaultSkew = 60 * time.Second
	// DefaultMaxAge is how long a record is trusted before it is read again.
	DefaultMaxAge = 5 * time.Minute
	// DefaultMinReadInterval is the least time between two reads of one
	// parameter after a failed read (which then waits 5 to 7.5 s), or after
	// a read that returned a token already rejected once.
	DefaultMinReadInterval = 5 * time.Second
	// DefaultReadTimeout bounds one shared parameter read, SDK retries
	// included.
	DefaultReadTimeout = 10 * time.Second
)

// ParameterGetter is the one SSM operation the cache needs. *ssm.Client
// satisfies it; tests pass a hand-written fake.
type ParameterGetter interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var _ ParameterGetter = (*ssm.Client)(nil)

// Config tunes a Cache. The zero value is ready to use: default prefix,
// 60 s skew, 5 min maximum age, slog.Default and time.Now.
type Config struct {
	// Prefix is the parameter prefix of the profiles named in Cache.Source,
	// as TOKEN_PARAMETER_PREFIX is for the rotator: profile p is
	// read from tokenrecord.ParameterName(Prefix, p). Empty means
	// tokenrecord.DefaultPrefix ("/oauth-tokens").
	Prefix string
	// Skew is the margin kept before expires_at: a token is served only
	// while now + Skew is before its expires_at, so that it does not expire
	// on its way to the partner API. Zero means DefaultSkew; a negative
	// value means no margin.
	Skew time.Duration
	// MaxAge bounds how long a record is trusted after it was read: once it
	// is older, the parameter is read again, so that a long-running process
	// picks up a rotated (or force-rotated) token well before the old one
	// nears expiry. Each read draws its own age from the last fifth of
	// MaxAge (4 to 5 minutes by default), so that containers started
	// together do not read again together. Zero means DefaultMaxAge; a
	// negative value means no bound (the parameter is read again only when
	// the token nears expiry).
	MaxAge time.Duration
	// MinReadInterval is the least time between two reads of one parameter
	// after a read failed, and after a read that returned a token already
	// rejected once (Source.Invalidate). After a failed read, each read
	// draws its own wait from MinReadInterval to 1.5 times it (5 to 7.5 s
	// by default), so that containers whose reads failed together do not
	// read again together. Until then, callers get the cached token while
	// it is valid, or the failed read's error. The first rejection of a
	// token always causes one read. Zero means DefaultMinReadInterval; a
	// negative value means no minimum.
	MinReadInterval time.Duration
	// ReadTimeout bounds one shared parameter read, SDK retries included.
	// A read that SSM throttles (ThrottlingException: Parameter Store's
	// reads are 40 per second per account and region by default) is tried
	// again after a jittered backoff for as long as ReadTimeout leaves
	// time, whatever the SDK client's own retryer gave up on. It is
	// independent of the callers' contexts, which may end sooner. Zero or
	// negative means DefaultReadTimeout.
	ReadTimeout time.Duration
	// Logger receives a warning when a cached token is served because a
	// read failed (once per run of failures), and a note when reads succeed
	// again. Nil means slog.Default(). No token is ever logged.
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now; tests inject a
	// fake clock.
	Now func() time.Time
	// RoleARN names the role whose credentials the client reads with,
	// when they are not the process's own: for a consumer in another
	// account, the reader role of the rotator's account (the stack's
	// CrossAccountReaderRoleArn output). The cache does not assume it:
	// build the client with that role's credentials (Example_otherAccount
	// shows how). Errors name it and, when the role could not be assumed
	// or may not read a record, say what to change. Empty means the
	// client's credentials are the process's own.
	RoleARN string
}

// Cache serves tokens for any number of profiles. Build one per process with
// New and keep it for the life of the process (outside a Lambda handler). It
// is safe for concurrent use.
type Cache struct {
	client          ParameterGetter
	prefix          string
	skew            time.Duration
	maxAge          time.Duration // 0: no bound
	minReadInterval time.Duration
	readTimeout     time.Duration
	log             *slog.Logger
	now             func() time.Time
	roleARN         string

	mu  sync.Mutex               // serializes registrations
	reg atomic.Pointer[registry] // copy on write: hits never lock

	stats counters
}

// registry maps names to their Sources. It is never modified once
// published; a registration publishes a copy.
type registry struct {
	// first holds the first few profiles registered, which most processes
	// (one or two profiles each) find by comparing names, without hashing
	// the name for a map lookup.
	first    []*Source
	profiles map[string]*Source
	params   map[string]*Source
}

// maxFirst is how many profiles registry.first holds.
const maxFirst = 4

// profile returns the Source registered for a profile name, or nil.
func (r *registry) profile(name string) *Source {
	for _, s := range r.first {
		if s.profile == name {
			return s
		}
	}
	if len(r.first) < maxFirst {
		return nil // every profile is in first
	}
	return r.profiles[name]
}

// New returns a Cache that reads token records with client, which must not
// be nil (it panics otherwise: a programming error).
func New(client ParameterGetter, cfg Config) *Cache {
	if client == nil {
		panic("tokencache: New called with a nil ParameterGetter")
	}
	c := &Cache{
		client:          client,
		prefix:          cfg.Prefix,
		skew:            orDefault(cfg.Skew, DefaultSkew),
		maxAge:          orDefault(cfg.MaxAge, DefaultMaxAge),
		minReadInterval: orDefault(cfg.MinReadInterval, DefaultMinReadInterval),
		readTimeout:     orDefault(cfg.ReadTimeout, DefaultReadTimeout),
		log:             cfg.Logger,
		now:             cfg.Now,
		roleARN:         cfg.RoleARN,
	}
	if c.readTimeout <= 0 {
		c.readTimeout = DefaultReadTimeout
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.reg.Store(&registry{profiles: map[string]*Source{}, params: map[string]*Source{}})
	return c
}

// orDefault maps zero to def and negative durations to zero.
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Source returns the Source of profile name's token, read from the
// parameter tokenrecord.ParameterName(Config.Prefix, name). Every call with the same
// name returns the same Source. A record whose "profile" field is not name is
// refused as unreadable. A name that is not a valid profile name (letters,
// digits, '.', '_' and '-') gives a Source whose every Token call fails.
func (c *Cache) Source(name string) *Source {
	if s := c.reg.Load().profile(name); s != nil {
		return s
	}
	if err := tokenrecord.CheckProfileName(name); err != nil {
		return &Source{c: c, profile: name, param: tokenrecord.ParameterName(c.prefix, name), invalid: fmt.Errorf("profile name %w", err)}
	}
	return c.register(name, tokenrecord.ParameterName(c.prefix, name), true)
}

// SourceByParameter returns the Source of the token stored under the SSM
// parameter name (or ARN), for a profile whose record is not under
// Config.Prefix (its "parameter" field).
// Every call with the same name returns the same Source. The record's
// "profile" field is not checked.
func (c *Cache) SourceByParameter(name string) *Source {
	if s := c.reg.Load().params[name]; s != nil {
		return s
	}
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return &Source{c: c, param: name, invalid: errors.New("invalid parameter name")}
	}
	return c.register(name, name, false)
}

func (c *Cache) register(name, param string, byProfile bool) *Source {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.reg.Load()
	m := old.params
	if byProfile {
		m = old.profiles
	}
	if s := m[name]; s != nil {
		return s // registered while we waited for the lock
	}
	s := &Source{c: c, param: param}
	next := &registry{first: old.first, profiles: old.profiles, params: old.params}
	if byProfile {
		s.profile = name
		if len(old.first) < maxFirst {
			next.first = append(old.first[:len(old.first):len(old.first)], s)
		}
	}
	cp := make(map[string]*Source, len(m)+1)
	for k, v := range m {
		cp[k] = v
	}
	cp[name] = s
	if byProfile {
		next.profiles = cp
	} else {
		next.params = cp
	}
	c.reg.Store(next)
	return s
}

// Stats counts what a Cache has done since it was built. Hits + Misses is
// the number of Token calls.
type Stats struct {
	// Hits counts calls answered from memory without waiting for a read.
	Hits uint64
	// Misses counts calls that found no usable token in memory: they waited
	// for a read, or got the error of a recent failed read.
	Misses uint64
	// StaleServed counts calls (hits or misses) answered with a cached
	// token after a read of its parameter failed.
	StaleServed uint64
	// ReadErrors counts reads that gave no usable token: the parameter was
	// missing, unreadable, expired or could not be read.
	ReadErrors uint64
	// Reads counts GetParameter calls.
	Reads uint64
	// Throttled counts GetParameter calls SSM throttled (each was tried
	// again after a backoff, within ReadTimeout).
	Throttled uint64
}

// Sub returns the counts since an earlier snapshot prev, for metrics
// emitted per invocation or per interval.
func (s Stats) Sub(prev Stats) Stats {
	return Stats{
		Hits:        s.Hits - prev.Hits,
		Misses:      s.Misses - prev.Misses,
		StaleServed: s.StaleServed - prev.StaleServed,
		ReadErrors:  s.ReadErrors - prev.ReadErrors,
		Reads:       s.Reads - prev.Reads,
		Throttled:   s.Throttled - prev.Throttled,
	}
}

// Stats returns a snapshot of the counters. Each counter is read atomically;
// the snapshot as a whole is not, so counts of calls in flight may be split.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:        c.stats.hits.Load(),
		Misses:      c.stats.misses.Load(),
		StaleServed: c.stats.stale.Load(),
		ReadErrors:  c.stats.readErrors.Load(),
		Reads:       c.stats.reads.Load(),
		Throttled:   c.stats.throttled.Load(),
	}
}

// counters keeps the hit counter, written on every hit, on a cache line of
// its own, so that hits on several cores do not also slow down the reads of
// the Cache's other fields.
type counters struct {
	_          [64]byte
	hits       atomic.Uint64
	_          [56]byte
	misses     atomic.Uint64
	stale      atomic.Uint64
	readErrors atomic.Uint64
	reads      atomic.Uint64
	throttled  atomic.Uint64
}
