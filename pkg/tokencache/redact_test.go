package tokencache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestNoTokenInLogsOrErrors drives every path that logs or fails, with
// records that hold a recognisable token, and checks that neither the token
// nor a fragment of it appears in any log line or error.
func TestNoTokenInLogsOrErrors(t *testing.T) {
	const secret = "eyJSECRET.TOKEN-9f8e7d6c5b4a3210"
	fragments := []string{secret, "eyJSECRET", "TOKEN-9f8e7d6c5b4a3210"}
	param := "/oauth-tokens/" + testProfile

	var collected []string
	check := func(err error) {
		if err != nil {
			collected = append(collected, err.Error(), fmt.Sprintf("%v %+v %#v %q", err, err, err, err))
		}
	}

	scenarios := []struct {
		name string
		run  func(t *testing.T, f *fakeSSM, clk *fakeClock, c *Cache)
	}{
		{"stale served, then expired", func(t *testing.T, f *fakeSSM, clk *fakeClock, c *Cache) {
			f.put(t, testProfile, secret, t0, 10*time.Minute)
			mustToken(t, c, testProfile)
			f.setErr(errors.New("ThrottlingException"))
			clk.Advance(DefaultMaxAge)
			mustToken(t, c, testProfile)
			clk.Advance(time.Hour)
			_, err := c.Source(testProfile).Token(context.Background())
			check(err)
			f.setErr(nil)
			clk.Advance(time.Hour) // record now expired: the rotator stalled
			_, err = c.Source(testProfile).Token(context.Background())
			check(err)
		}},
		{"malformed records holding the token", func(t *testing.T, f *fakeSSM, clk *fakeClock, c *Cache) {
			for _, v := range []string{
				secret,
				`{"access_token":"` + secret + `"`,
				`{"access_token":"` + secret + `","expires_at":42,"issued_at":"2026-11-22T10:00:00Z","profile":"x"}`,
				`{"access_token":"` + secret + `","expires_at":"tomorrow","issued_at":"2026-11-22T10:00:00Z","profile":"x"}`,
				`{"access_token":"` + secret + ` x","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"` + testProfile + `"}`,
				record(t, "agency-7", secret, t0, time.Hour),
				record(t, testProfile, secret, t0.Add(-2*time.Hour), time.Hour),
			} {
				f.set(param, v)
				clk.Advance(DefaultMinReadInterval)
				_, err := c.Source(testProfile).Token(context.Background())
				if err == nil {
					t.Fatalf("Token(%q) with a malformed record succeeded", testProfile)
				}
				check(err)
			}
		}},
		{"transport errors and 401", func(t *testing.T, f *fakeSSM, clk *fakeClock, c *Cache) {
			f.put(t, testProfile, secret, t0, time.Hour)
			api := newPartnerAPI(t, "another-token")
			clk.Advance(time.Minute)
			client := c.Source(testProfile).Client("")
			resp, err := client.Get(api.URL + "/listings")
			if err == nil {
				resp.Body.Close()
			}
			check(err)
			_, err = client.Get("http://api.example.com/listings")
			check(err)
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			c, logs := newTestCache(f, clk, Config{})
			sc.run(t, f, clk, c)
			collected = append(collected, logs.String())
		})
	}
	all := strings.Join(collected, "\n")
	if !strings.Contains(all, "tokencache:") {
		t.Fatalf("collected no errors or logs: %q", all)
	}
	for _, frag := range fragments {
		if strings.Contains(all, frag) {
			t.Errorf("logs or errors contain %q:\n%s", frag, all)
		}
	}
}
