package tokencache

import (
	"fmt"
	"log/slog"
)

// String names the Source's profile and parameter, never its token. (It
// also keeps fmt from reading the Source's fields while a read updates
// them.)
func (s *Source) String() string {
	return fmt.Sprintf("tokencache.Source{profile=%q parameter=%q}", s.profile, s.param)
}

// GoString is String.
func (s *Source) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without the token.
func (s *Source) LogValue() slog.Value {
	return slog.GroupValue(slog.String("profile", s.profile), slog.String("parameter", s.param))
}

// String describes the Cache by its settings and counters, never a token.
func (c *Cache) String() string {
	return fmt.Sprintf("tokencache.Cache{prefix=%q skew=%s max_age=%s stats=%+v}", c.prefix, c.skew, c.maxAge, c.Stats())
}

// GoString is String.
func (c *Cache) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without any token.
func (c *Cache) LogValue() slog.Value {
	return slog.GroupValue(slog.String("prefix", c.prefix), slog.Duration("skew", c.skew), slog.Duration("max_age", c.maxAge))
}

// String names the transport's Source, never its token. (Without it, fmt
// would print the Source's fields, racing with a read that updates them.)
func (t *transport) String() string {
	return fmt.Sprintf("tokencache.Transport{profile=%q parameter=%q}", t.src.profile, t.src.param)
}

// GoString is String.
func (t *transport) GoString() string { return t.String() }
