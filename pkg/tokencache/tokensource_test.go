package tokencache

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"
)

func TestTokenSourceExpiry(t *testing.T) {
	// MaxAge re-reads are spread by a jitter of up to a fifth; none here,
	// so that each expiry is exact.
	jitter = func() float64 { return 0 }
	t.Cleanup(func() { jitter = rand.Float64 })
	tests := []struct {
		name       string
		cfg        Config
		lifetime   time.Duration // of the record issued at t0
		failAfter  time.Duration // when > 0: advance this far, then fail the reads
		wantExpiry time.Time
	}{
		{"maximum age first", Config{}, time.Hour, 0, t0.Add(DefaultMaxAge)},
		{"validity end first", Config{}, 3 * time.Minute, 0, t0.Add(3*time.Minute - DefaultSkew)},
		{"no maximum age", Config{MaxAge: -1}, time.Hour, 0, t0.Add(time.Hour - DefaultSkew)},
		{"own skew", Config{MaxAge: -1, Skew: 5 * time.Minute}, time.Hour, 0, t0.Add(55 * time.Minute)},
		{"no skew", Config{MaxAge: -1, Skew: -1}, time.Hour, 0, t0.Add(time.Hour)},
		{"stale after a failed read", Config{}, time.Hour, 6 * time.Minute, t0.Add(6*time.Minute + DefaultMinReadInterval)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			f.put(t, testProfile, "token-1", t0, tt.lifetime)
			c, _ := newTestCache(f, clk, tt.cfg)
			ts := c.Source(testProfile).TokenSource(context.Background())
			if tt.failAfter > 0 {
				if _, err := ts.Token(); err != nil {
					t.Fatal(err)
				}
				clk.Advance(tt.failAfter)
				f.setErr(errors.New("ThrottlingException"))
			}
			tok, err := ts.Token()
			if err != nil {
				t.Fatalf("Token() = %v; want token-1", err)
			}
			if tok.AccessToken != "token-1" || tok.TokenType != "Bearer" || !tok.Expiry.Equal(tt.wantExpiry) {
				t.Errorf("Token() = %q %q expiring %v; want token-1 Bearer expiring %v", tok.AccessToken, tok.TokenType, tok.Expiry, tt.wantExpiry)
			}
		})
	}
}

func TestTokenSourceErrors(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	c, _ := newTestCache(f, clk, Config{})
	tok, err := c.Source(testProfile).TokenSource(context.Background()).Token()
	var e *Error
	if tok != nil || !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Profile != testProfile {
		t.Errorf("Token() with no record = %v, %v; want nil and an *Error naming %q matching ErrNotFound", tok, err, testProfile)
	}
}

// TestOAuth2ClientFollowsRotation is the proof: an http.Client
// built by oauth2.NewClient over the TokenSource switches to the rotated
// token once the cache reads the record again, without a restart. The
// bubble's fake clock is the one both x/oauth2 and the cache read
// (time.Now), so five minutes pass without waiting; the partner API is a
// real loopback server outside the bubble.
func TestOAuth2ClientFollowsRotation(t *testing.T) {
	api := newPartnerAPI(t, "token-1")
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSSM()
		f.put(t, testProfile, "token-1", time.Now(), time.Hour)
		cache := New(f, Config{}) // MaxAge 5 min, the clock is time.Now
		// No idle connections: a goroutine waiting on a socket would keep
		// the bubble's clock from moving.
		base := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, base)
		client := oauth2.NewClient(ctx, cache.Source(testProfile).TokenSource(ctx))

		get := func(when string, want string) {
			t.Helper()
			resp, err := client.Get(api.URL + "/listings")
			if err != nil {
				t.Fatalf("%s: GET = %v", when, err)
			}
			resp.Body.Close()
			seen := api.seen()
			if got := seen[len(seen)-1].auth; got != "Bearer "+want || resp.StatusCode != http.StatusOK {
				t.Errorf("%s: partner saw Authorization %q and answered %d; want %q and 200", when, got, resp.StatusCode, "Bearer "+want)
			}
		}
		get("first call", "token-1")
		f.put(t, testProfile, "token-2", time.Now(), time.Hour) // the rotator rotates
		time.Sleep(time.Minute)
		get("a minute after the rotation", "token-1") // still valid, cached
		if n := f.Reads(); n != 1 {
			t.Errorf("GetParameter calls before the maximum age = %d; want 1", n)
		}
		time.Sleep(DefaultMaxAge)
		api.valid.Store("token-2") // the partner now accepts only the new token
		get("after the maximum age", "token-2")
		get("next call", "token-2")
		if n := f.Reads(); n != 2 {
			t.Errorf("GetParameter calls = %d; want 2", n)
		}
	})
}

// TestStaticTokenSourceFreezes shows the adapter this package replaces:
// a token without an expiry is never refreshed by x/oauth2.
func TestStaticTokenSourceFreezes(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	c, _ := newTestCache(f, clk, Config{})
	src := c.Source(testProfile)
	first, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	frozen := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: first}))
	following := oauth2.ReuseTokenSource(nil, src.TokenSource(context.Background()))
	if _, err := following.Token(); err != nil {
		t.Fatal(err)
	}
	f.put(t, testProfile, "token-2", t0.Add(time.Minute), time.Hour)
	clk.Advance(DefaultMaxAge + time.Second)
	// The fake clock is in the past for x/oauth2, which reads time.Now: the
	// following source's tokens look expired and are asked for each time.
	a, _ := frozen.Token()
	b, _ := following.Token()
	if a.AccessToken != "token-1" || b.AccessToken != "token-2" {
		t.Errorf("after a rotation: StaticTokenSource serves %q, TokenSource %q; want token-1 (frozen) and token-2", a.AccessToken, b.AccessToken)
	}
}
