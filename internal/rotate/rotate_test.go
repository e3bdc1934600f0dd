package rotate

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

const secretValue = "CLIENT-SECRET-7f3a9c1e"

func testProfiles(t *testing.T) []profile.Profile {
	t.Helper()
	doc := `
profiles:
  - name: caas-42
    token_url: https://auth.example/oauth/token
    secret_id: clients/aviv
    audience: https://api.example/caas/v3
    params: {intermediary_id: agency-42}
  - name: caas-43
    token_url: https://auth.example/oauth/token
    secret_id: clients/aviv
    audience: https://api.example/caas/v3
    params: {intermediary_id: agency-43}
  - name: partner
    token_url: https://partner.example/api/oauth/token
    secret_id: clients/partner
    headers: {Accept: application/json}
    refresh_before: 10m
`
	ps, err := profile.Parse([]byte(doc), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

type harness struct {
	r       *Rotator
	clock   *clock
	store   *memStore
	secrets *fakeSecrets
	fetch   *fakeFetcher
	logs    *bytes.Buffer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		clock: &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)},
		store: newMemStore(),
		secrets: &fakeSecrets{creds: map[string]clientcred.Credentials{
			"clients/aviv":    {ClientID: "aviv-id", ClientSecret: secretValue},
			"clients/partner": {ClientID: "partner-id", ClientSecret: secretValue + "-p"},
		}},
		fetch: &fakeFetcher{fail: map[string]error{}},
		logs:  &bytes.Buffer{},
	}
	h.r = &Rotator{
		Profiles: testProfiles(t), Secrets: h.secrets, Fetcher: h.fetch, Store: h.store,
		Now: h.clock.Now, Logger: slog.New(slog.NewJSONHandler(h.logs, nil)), Owner: "test",
		Lease: RunLease("/oauth-tokens"),
		// Unit tests run on the real clock: 1 ms apart, the write
		// budget never holds them up (budget_test.go tests it).
		WriteRate: 1000,
	}
	return h
}

func (h *harness) run(t *testing.T, req Request) (Summary, error) {
	t.Helper()
	return h.r.Run(context.Background(), req)
}

func names(os []Outcome) string {
	var s []string
	for _, o := range os {
		s = append(s, o.Profile)
	}
	return strings.Join(s, ",")
}

func TestFirstAndSecondRun(t *testing.T) {
	h := newHarness(t)
	sum, err := h.run(t, Request{})
	if err != nil {
		t.Fatalf("first Run = %v", err)
	}
	if got := names(sum.Refreshed); got != "caas-42,caas-43,partner" {
		t.Errorf("first run refreshed %q; want all three", got)
	}
	if h.fetch.calls.Load() != 3 {
		t.Errorf("token requests = %d; want 3", h.fetch.calls.Load())
	}
	if h.secrets.reads["clients/aviv"] != 1 || h.secrets.reads["clients/partner"] != 1 {
		t.Errorf("secret reads = %v; want each secret once", h.secrets.reads)
	}
	rec, ok := h.store.record("/oauth-tokens/caas-42")
	if !ok {
		t.Fatal("no record for caas-42")
	}
	start := h.clock.Now()
	if rec.Profile != "caas-42" || !rec.IssuedAt.Equal(start) || !rec.ExpiresAt.Equal(start.Add(24*time.Hour)) || rec.TokenType != "Bearer" {
		t.Errorf("record = %v; want issued now, expiring in 24h", rec)
	}
	if !strings.HasPrefix(rec.Fingerprint, "v1:") || strings.Contains(rec.Fingerprint, secretValue) {
		t.Errorf("fingerprint = %q; want v1 hash without the secret", rec.Fingerprint)
	}
	// Body fields reached the fetcher.
	for _, r := range h.fetch.seen {
		if r.ClientSecret == "" || r.ClientID == "" {
			t.Errorf("request %v lacks credentials", r)
		}
	}

	h.clock.Advance(time.Hour)
	sum, err = h.run(t, Request{})
	if err != nil || len(sum.Skipped) != 3 || len(sum.Refreshed) != 0 {
		t.Fatalf("second Run = %+v, %v; want three skipped", sum, err)
	}
	if h.fetch.calls.Load() != 3 || h.secrets.total() != 2 {
		t.Errorf("second run made token requests (%d) or read secrets (%d); want none", h.fetch.calls.Load()-3, h.secrets.total()-2)
	}
	for _, o := range sum.Skipped {
		if o.ExpiresAt == nil || !strings.HasPrefix(o.Reason, "valid until") {
			t.Errorf("skipped outcome %+v; want expires_at and 'valid until'", o)
		}
	}
}

func TestDueNearExpiry(t *testing.T) {
	h := newHarness(t)
	h.r.Spread = -1 // exact refresh_before
	h.run(t, Request{})
	h.clock.Advance(24*time.Hour - 15*time.Minute - time.Second)
	sum, _ := h.run(t, Request{})
	if len(sum.Refreshed) != 0 {
		t.Fatalf("refreshed %q one second before refresh_before; want none", names(sum.Refreshed))
	}
	h.clock.Advance(time.Second)
	sum, _ = h.run(t, Request{})
	if got := names(sum.Refreshed); got != "caas-42,caas-43" {
		t.Errorf("refreshed %q at expiry-15m; want the two 15m profiles (partner has 10m)", got)
	}
	if h.secrets.reads["clients/partner"] != 1 {
		t.Errorf("partner secret read %d times; want 1 (not due)", h.secrets.reads["clients/partner"])
	}
}

func TestSpreadOnlyBringsRefreshForward(t *testing.T) {
	h := newHarness(t)
	p := h.r.Profiles[0]
	seen := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		issued := time.Date(2026, 11, 22, 10, 0, i, 0, time.UTC)
		rec := tokenrecord.Record{AccessToken: "x", Profile: p.Name, IssuedAt: issued, ExpiresAt: issued.Add(24 * time.Hour)}
		at := h.r.RefreshAt(p, rec)
		lead := rec.ExpiresAt.Sub(at)
		if lead < p.RefreshBefore || lead > p.RefreshBefore+DefaultMaxSpread {
			t.Fatalf("RefreshAt lead = %v; want within [15m, 1h15m]", lead)
		}
		if at != h.r.RefreshAt(p, rec) {
			t.Fatal("RefreshAt is not deterministic")
		}
		seen[lead.Truncate(10*time.Minute)] = true
	}
	if len(seen) < 5 {
		t.Errorf("spread covers %d ten-minute buckets; want the window used", len(seen))
	}
}

func TestConfigurationChangeRefetches(t *testing.T) {
	h := newHarness(t)
	h.run(t, Request{})
	h.r.Profiles[0].Audience = "https://api.example/sandbox/caas/v3"
	sum, err := h.run(t, Request{})
	if err != nil || names(sum.Refreshed) != "caas-42" {
		t.Fatalf("after audience change refreshed %q, %v; want caas-42", names(sum.Refreshed), err)
	}
	if !strings.Contains(sum.Refreshed[0].Reason, "configuration changed") {
		t.Errorf("reason = %q; want 'configuration changed'", sum.Refreshed[0].Reason)
	}
}

func TestClientIDChange(t *testing.T) {
	h := newHarness(t)
	h.run(t, Request{})
	h.secrets.creds["clients/partner"] = clientcred.Credentials{ClientID: "partner-id-2", ClientSecret: "s2-zzzzzzzz"}
	sum, _ := h.run(t, Request{})
	if len(sum.Refreshed) != 0 {
		t.Fatalf("a scheduled run refreshed %q; it must not read secrets of profiles that are not due", names(sum.Refreshed))
	}
	sum, err := h.run(t, Request{CheckCredentials: true})
	if err != nil || names(sum.Refreshed) != "partner" || sum.Refreshed[0].Reason != "client id changed" {
		t.Fatalf("check_credentials refreshed %+v, %v; want partner for 'client id changed'", sum.Refreshed, err)
	}
	// Sharing a secret with a due profile reveals the change too.
	h.secrets.creds["clients/aviv"] = clientcred.Credentials{ClientID: "aviv-id-2", ClientSecret: "s3-zzzzzzzz"}
	h.r.Profiles[0].Scope = "new"
	sum, _ = h.run(t, Request{})
	if got := names(sum.Refreshed); got != "caas-42,caas-43" {
		t.Errorf("refreshed %q; want caas-42 (config) and caas-43 (client id, secret read anyway)", got)
	}
}

func TestForce(t *testing.T) {
	h := newHarness(t)
	h.run(t, Request{})
	h.clock.Advance(time.Minute)
	sum, err := h.run(t, Request{Force: true, Profiles: []string{"partner", "partner"}})
	if err != nil || names(sum.Refreshed) != "partner" || len(sum.Skipped) != 0 {
		t.Fatalf("forced run = %+v, %v; want only partner refreshed", sum, err)
	}
	sum, err = h.run(t, Request{Force: true})
	if err != nil || len(sum.Refreshed) != 3 {
		t.Fatalf("force all = %+v, %v; want 3 refreshed", sum, err)
	}
	calls := h.fetch.calls.Load()
	_, err = h.run(t, Request{Force: true, Profiles: []string{"partner", "nope"}})
	if !errors.Is(err, ErrUnknownProfile) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("force unknown = %v; want ErrUnknownProfile naming nope", err)
	}
	if h.fetch.calls.Load() != calls {
		t.Error("a request naming an unknown profile fetched tokens; want nothing done")
	}
}

func TestFailuresAreIsolatedAndKeepStoredTokens(t *testing.T) {
	tests := []struct {
		name       string
		break_     func(h *harness)
		wantFailed string
		wantReason string
	}{
		{"token endpoint down", func(h *harness) {
			h.fetch.fail["https://partner.example/api/oauth/token"] = &oauth.Error{StatusCode: 503, Retryable: true, Attempts: 4}
		}, "partner", "status 503"},
		{"missing secret", func(h *harness) { delete(h.secrets.creds, "clients/aviv") }, "caas-42,caas-43", "not found"},
		{"secret without client_secret", func(h *harness) {
			h.secrets.errs = map[string]error{"clients/partner": clientcred.ErrMalformed}
		}, "partner", "client credentials"},
		{"write fails", func(h *harness) { h.store.writeErr = errBoom }, "caas-42,caas-43,partner", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.run(t, Request{})
			before := map[string]string{}
			for _, p := range h.r.Profiles {
				before[p.Name] = h.store.raw(p.Parameter)
			}
			tt.break_(h)
			sum, err := h.run(t, Request{Force: true})
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("Run error = %v; want *RunError", err)
			}
			if got := names(sum.Failed); got != tt.wantFailed {
				t.Errorf("failed = %q; want %q", got, tt.wantFailed)
			}
			for _, f := range strings.Split(tt.wantFailed, ",") {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			if !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("error %q; want it to say %q", err, tt.wantReason)
			}
			for _, o := range sum.Failed {
				if got := h.store.raw(o.Parameter); got != before[o.Profile] {
					t.Errorf("stored record of failed %s changed", o.Profile)
				}
				if o.ExpiresAt == nil {
					t.Errorf("failed outcome %s lacks the stored token's expires_at", o.Profile)
				}
			}
			if len(sum.Refreshed)+len(sum.Failed) != 3 {
				t.Errorf("refreshed %d + failed %d; want every profile tried", len(sum.Refreshed), len(sum.Failed))
			}
		})
	}
}

func TestStoreReadFailure(t *testing.T) {
	h := newHarness(t)
	h.store.readErr = errBoom
	sum, err := h.run(t, Request{})
	if err == nil || len(sum.Failed) != 3 || h.fetch.calls.Load() != 0 {
		t.Fatalf("Run with SSM down = %+v, %v, %d fetches; want every profile failed, no fetch", sum, err, h.fetch.calls.Load())
	}
}

func TestUnreadableOrForeignRecordIsDue(t *testing.T) {
	h := newHarness(t)
	h.run(t, Request{})
	h.store.values["/oauth-tokens/caas-42"] = `{"garbage":`
	b, _ := tokenrecord.Marshal(tokenrecord.Record{AccessToken: "x", Profile: "someone-else", IssuedAt: h.clock.Now(), ExpiresAt: h.clock.Now().Add(time.Hour)})
	h.store.values["/oauth-tokens/partner"] = string(b)
	sum, err := h.run(t, Request{})
	if err != nil || names(sum.Refreshed) != "caas-42,partner" {
		t.Fatalf("refreshed %q, %v; want caas-42 (unreadable) and partner (foreign)", names(sum.Refreshed), err)
	}
}

func TestRunLeaseHeldSkipsEveryDueProfile(t *testing.T) {
	h := newHarness(t)
	h.store.leases["/oauth-tokens/.rotator"] = true
	sum, err := h.run(t, Request{})
	if err != nil {
		t.Fatal(err)
	}
	if names(sum.Skipped) != "caas-42,caas-43,partner" || len(sum.Refreshed) != 0 || h.fetch.calls.Load() != 0 {
		t.Fatalf("run = %+v with %d fetches; want every due profile skipped, none fetched", sum, h.fetch.calls.Load())
	}
	for _, o := range sum.Skipped {
		if o.Reason != "another rotator run is refreshing tokens" {
			t.Errorf("%s skipped for %q; want the lease as the reason", o.Profile, o.Reason)
		}
	}
}

func TestNothingDueTakesNoLease(t *testing.T) {
	h := newHarness(t)
	if _, err := h.run(t, Request{}); err != nil {
		t.Fatal(err)
	}
	if h.store.leaseCalls != 1 || len(h.store.leases) != 0 {
		t.Fatalf("first run: %d leases taken, %d held after; want 1 taken and released", h.store.leaseCalls, len(h.store.leases))
	}
	sum, err := h.run(t, Request{})
	if err != nil || len(sum.Skipped) != 3 {
		t.Fatalf("second run = %+v, %v; want all skipped", sum, err)
	}
	if h.store.leaseCalls != 1 {
		t.Errorf("a run with nothing due took a lease (%d in all); want none", h.store.leaseCalls)
	}
}

func TestRunLease(t *testing.T) {
	for _, tt := range []struct{ prefix, want string }{
		{"/oauth-tokens", "/oauth-tokens/.rotator"},
		{"/oauth-tokens/", "/oauth-tokens/.rotator"},
		{"/x//", "/x/.rotator"},
		{"oauth-tokens", "/oauth-tokens/.rotator"},
		{"", "/oauth-tokens/.rotator"},
	} {
		if got := RunLease(tt.prefix); got != tt.want {
			t.Errorf("RunLease(%q) = %q; want %q", tt.prefix, got, tt.want)
		}
		// The lease sits beside the records, named as they are.
		if got, rec := path.Dir(RunLease(tt.prefix)), path.Dir(tokenrecord.ParameterName(tt.prefix, "p")); got != rec {
			t.Errorf("RunLease(%q) is in %q; records in %q", tt.prefix, got, rec)
		}
	}
}

func TestRunWithoutLeaseIsRefused(t *testing.T) {
	h := newHarness(t)
	h.r.Lease = ""
	if _, err := h.run(t, Request{}); err == nil || !strings.Contains(err.Error(), "Lease") {
		t.Fatalf("Run without a Lease = %v; want an error naming Lease", err)
	}
	if h.fetch.calls.Load() != 0 || h.store.writes != 0 {
		t.Error("Run without a Lease fetched or wrote")
	}
}

func TestConcurrentRunsFetchOnce(t *testing.T) {
	h := newHarness(t)
	h.fetch.delay = 20 * time.Millisecond
	done := make(chan Summary, 4)
	for i := 0; i < 4; i++ {
		go func() {
			s, _ := h.r.Run(context.Background(), Request{})
			done <- s
		}()
	}
	refreshed := 0
	for i := 0; i < 4; i++ {
		refreshed += len((<-done).Refreshed)
	}
	if got := h.fetch.calls.Load(); got != 3 || refreshed != 3 {
		t.Errorf("4 concurrent runs made %d token requests (%d refreshed); want 3", got, refreshed)
	}
}

func TestConcurrencyBound(t *testing.T) {
	h := newHarness(t)
	var ps []profile.Profile
	for i := 0; i < 40; i++ {
		p := h.r.Profiles[2]
		p.Name = "p" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		p.Parameter = tokenrecord.ParameterName("", p.Name)
		ps = append(ps, p)
	}
	h.r.Profiles = ps
	h.r.Concurrency = 4
	h.fetch.delay = 5 * time.Millisecond
	sum, err := h.run(t, Request{})
	if err != nil || len(sum.Refreshed) != 40 {
		t.Fatalf("Run = %d refreshed, %v; want 40", len(sum.Refreshed), err)
	}
	if m := h.fetch.maxFlight.Load(); m > 4 || m < 2 {
		t.Errorf("max token requests in flight = %d; want 2..4", m)
	}
	if h.secrets.total() != 1 {
		t.Errorf("secret reads = %d; want 1 for 40 profiles sharing it", h.secrets.total())
	}
}

func TestRunEndsWithContext(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sum, err := h.r.Run(ctx, Request{})
	if err == nil || len(sum.Failed) != 3 {
		t.Fatalf("Run with ended context = %+v, %v; want all failed", sum, err)
	}
}

func TestLogs(t *testing.T) {
	h := newHarness(t)
	h.fetch.ttl = 10 * time.Minute // not longer than refresh_before
	h.fetch.fail["https://partner.example/api/oauth/token"] = errBoom
	h.run(t, Request{})
	out := h.logs.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var perProfile, warns int
	for _, l := range lines {
		if strings.Contains(l, `"msg":"profile `) {
			perProfile++
			for _, k := range []string{`"profile":`, `"action":`, `"reason":`} {
				if !strings.Contains(l, k) {
					t.Errorf("log line %s lacks %s", l, k)
				}
			}
		}
		if strings.Contains(l, `"level":"WARN"`) && strings.Contains(l, "refresh_before") {
			warns++
		}
	}
	if perProfile != 3 {
		t.Errorf("per-profile log lines = %d; want 3\n%s", perProfile, out)
	}
	if warns != 2 {
		t.Errorf("lifetime warnings = %d; want 2 (the caas profiles)", warns)
	}
	if strings.Contains(out, secretValue[:8]) || strings.Contains(out, "tok-") {
		t.Errorf("logs leak a secret or token:\n%s", out)
	}
}

func TestSpreadWindow(t *testing.T) {
	r := &Rotator{}
	p := profile.Profile{RefreshBefore: 15 * time.Minute}
	tests := []struct {
		name     string
		r        *Rotator
		lifetime time.Duration
		refresh  time.Duration
		want     time.Duration
	}{
		{"24 h: 5 % capped at 1 h", r, 24 * time.Hour, 15 * time.Minute, time.Hour},
		{"10 h: 5 %", r, 10 * time.Hour, 30 * time.Minute, 30 * time.Minute},
		{"1 h: at least 10 min (two 5-minute runs)", r, time.Hour, 10 * time.Minute, 10 * time.Minute},
		{"20 min: at most half of what is left", r, 20 * time.Minute, 10 * time.Minute, 5 * time.Minute},
		{"lifetime below refresh_before: none", r, 10 * time.Minute, 15 * time.Minute, 0},
		{"disabled", &Rotator{Spread: -1}, 24 * time.Hour, 15 * time.Minute, 0},
		{"configured", &Rotator{Spread: 0.25, MinSpread: time.Minute, MaxSpread: 3 * time.Hour}, time.Hour, 15 * time.Minute, 15 * time.Minute},
	}
	for _, tt := range tests {
		p.RefreshBefore = tt.refresh
		if got := tt.r.SpreadWindow(p, tt.lifetime); got != tt.want {
			t.Errorf("%s: SpreadWindow(%v) = %v; want %v", tt.name, tt.lifetime, got, tt.want)
		}
	}
}
