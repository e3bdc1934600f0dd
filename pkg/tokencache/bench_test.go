package tokencache

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The hit-path benchmarks run on the real clock, as ReuseTokenSource does,
// and compare one valid cached token served by each. Run them together:
//
//	go test -run '^$' -bench . -benchmem ./pkg/tokencache/

// newBenchCache returns a Cache that already holds a token valid for a day.
func newBenchCache(b *testing.B) *Cache {
	b.Helper()
	f := newFakeSSM()
	f.put(b, testProfile, "token-1", time.Now(), 24*time.Hour)
	c := New(f, Config{})
	if _, err := c.Source(testProfile).Token(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkCacheHit measures cache.Source(profile).Token for a cached
// profile: the call a handler makes, name lookup included.
func BenchmarkCacheHit(b *testing.B) {
	c := newBenchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if tok, err := c.Source(testProfile).Token(ctx); err != nil || tok == "" {
			b.Fatalf("Token(%q) = %q, %v", testProfile, tok, err)
		}
	}
}

// BenchmarkCacheHitParallel is BenchmarkCacheHit from GOMAXPROCS goroutines
// at once.
func BenchmarkCacheHitParallel(b *testing.B) {
	c := newBenchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if tok, err := c.Source(testProfile).Token(ctx); err != nil || tok == "" {
				b.Errorf("Token(%q) = %q, %v", testProfile, tok, err)
				return
			}
		}
	})
}

// BenchmarkSourceHit measures Source.Token, the call Transport makes: the
// Source is resolved once, so there is no name lookup.
func BenchmarkSourceHit(b *testing.B) {
	src := newBenchCache(b).Source(testProfile)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if tok, err := src.Token(ctx); err != nil || tok == "" {
			b.Fatalf("Token() = %q, %v", tok, err)
		}
	}
}

// BenchmarkTimeNow is the floor of every hit path above: one clock read.
func BenchmarkTimeNow(b *testing.B) {
	b.ReportAllocs()
	var last time.Time
	for b.Loop() {
		last = time.Now()
	}
	_ = last
}

// BenchmarkTimeNowParallel is BenchmarkTimeNow from GOMAXPROCS goroutines at
// once: the floor of BenchmarkCacheHitParallel, and how far a clock read
// alone scales on this machine.
func BenchmarkTimeNowParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var last time.Time
		for pb.Next() {
			last = time.Now()
		}
		_ = last
	})
}

// failingSource is an oauth2.TokenSource the benchmarks must never reach.
type failingSource struct{ b *testing.B }

func (s failingSource) Token() (*oauth2.Token, error) {
	s.b.Fatal("ReuseTokenSource asked for a new token")
	return nil, nil
}

func newReuseTokenSource(b *testing.B) oauth2.TokenSource {
	return oauth2.ReuseTokenSource(&oauth2.Token{
		AccessToken: "token-1", TokenType: "Bearer", Expiry: time.Now().Add(24 * time.Hour),
	}, failingSource{b})
}

// BenchmarkReuseTokenSourceHit measures golang.org/x/oauth2's
// ReuseTokenSource serving its valid token: the usual in-process cache.
func BenchmarkReuseTokenSourceHit(b *testing.B) {
	ts := newReuseTokenSource(b)
	b.ReportAllocs()
	for b.Loop() {
		if tok, err := ts.Token(); err != nil || tok.AccessToken == "" {
			b.Fatalf("Token() = %v, %v", tok, err)
		}
	}
}

// BenchmarkReuseTokenSourceHitParallel is BenchmarkReuseTokenSourceHit from
// GOMAXPROCS goroutines at once (it takes a mutex on every call).
func BenchmarkReuseTokenSourceHitParallel(b *testing.B) {
	ts := newReuseTokenSource(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if tok, err := ts.Token(); err != nil || tok.AccessToken == "" {
				b.Errorf("Token() = %v, %v", tok, err)
				return
			}
		}
	})
}
