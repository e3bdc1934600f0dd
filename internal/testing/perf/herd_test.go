package perf

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

const (
	herdProfiles = 1000
	herdInterval = 5 * time.Minute
	herdSpan     = 48 * time.Hour
)

// herdConfig is one simulated fleet: token lifetime and the Rotator's
// spread settings (zero values are the defaults).
type herdConfig struct {
	name      string
	lifetime  time.Duration
	spread    float64
	maxSpread time.Duration
	minSpread time.Duration
	whatIf    bool // not the shipped defaults
	// profiles, putTPS and span: zero means herdProfiles, herdPutTPS and
	// herdSpan.
	profiles int
	putTPS   float64
	span     time.Duration
}

// herdResult is what a simulation saw.
type herdResult struct {
	perRun   []int     // refreshes in each run; run i is at i*herdInterval
	deferred []int     // deferrals in each run
	used     []float64 // for each refresh of a token, the fraction of its lifetime it had been in use
	requests int
}

// Quota model of the herd simulations: the rotator's write budget at
// herdPutTPS with a Lambda timeout of herdTimeout (the template's), on a
// simulated clock. A run's writes take writes/TPS of time: the next run is
// the first schedule tick after the run ended (the rotator's reserved
// concurrency of 1 holds the schedule's events meanwhile).
const (
	herdPutTPS  = 3
	herdTimeout = 900 * time.Second
)

// noSleep is a Rotator.Sleep for simulations: the write slots are planned
// as on the real clock, without waiting for them.
func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// usageFetcher is simFetcher that also records, per profile (by
// intermediary_id), how much of its previous token's lifetime had passed.
type usageFetcher struct {
	simFetcher
	now    func() time.Time
	mu     sync.Mutex
	issued map[string]time.Time
	used   []float64
}

func (f *usageFetcher) Fetch(ctx context.Context, r oauth.Request) (oauth.Token, error) {
	id, now := r.Params["intermediary_id"], f.now()
	f.mu.Lock()
	if prev, ok := f.issued[id]; ok {
		f.used = append(f.used, float64(now.Sub(prev))/float64(f.lifetime))
	}
	f.issued[id] = now
	f.mu.Unlock()
	return f.simFetcher.Fetch(ctx, r)
}

// simulateHerd runs the real Rotator every herdInterval for herdSpan on a
// simulated clock, over the in-memory SSM (through the real tokenstore) and
// a fetcher that issues tokens of the given lifetime at once.
func simulateHerd(t *testing.T, cfg herdConfig) herdResult {
	t.Helper()
	n := cmp.Or(cfg.profiles, herdProfiles)
	tps := cmp.Or(cfg.putTPS, herdPutTPS)
	span := cmp.Or(cfg.span, herdSpan)
	clk := newSimClock(simStart)
	values := secretValues(n, nil)
	f := &usageFetcher{simFetcher: simFetcher{lifetime: cfg.lifetime}, now: clk.Now, issued: map[string]time.Time{}}
	rot := &rotate.Rotator{
		Lease:    rotate.RunLease("/herd"),
		Profiles: fleet(t, n, "https://auth.example.com/oauth/token", "/herd"),
		Secrets:  &clientcred.Reader{API: &memSecrets{values: values}},
		Store:    &tokenstore.Store{API: newMemSSM()},
		Fetcher:  f, Spread: cfg.spread, MaxSpread: cfg.maxSpread, MinSpread: cfg.minSpread,
		Now: clk.Now, Logger: discard, Concurrency: 64,
		WriteRate: tps, Sleep: noSleep,
	}
	var res herdResult
	for at := time.Duration(0); at < span; {
		clk.Set(simStart.Add(at))
		ctx, cancel := context.WithTimeout(context.Background(), herdTimeout-5*time.Second)
		sum, err := rot.Run(ctx, rotate.Request{})
		cancel()
		if err != nil {
			t.Fatalf("%s: run at +%s: %v", cfg.name, at, err)
		}
		// Runs that never happened (the last one took longer than the
		// interval) count as runs with nothing done.
		took := time.Duration(float64(len(sum.Refreshed)+1) / tps * float64(time.Second))
		res.perRun = append(res.perRun, len(sum.Refreshed))
		res.deferred = append(res.deferred, len(sum.Deferred))
		ended := at + took
		for at += herdInterval; at < ended; at += herdInterval {
			res.perRun, res.deferred = append(res.perRun, 0), append(res.deferred, 0)
		}
	}
	res.used, res.requests = f.used, int(f.calls.Load())
	return res
}

var herdConfigs = []herdConfig{
	{name: "24 h tokens (AVIV), defaults", lifetime: 24 * time.Hour},
	{name: "24 h tokens, no spread (Spread -1)", lifetime: 24 * time.Hour, spread: -1, whatIf: true},
	{name: "24 h tokens, Spread 0.125, MaxSpread 3 h", lifetime: 24 * time.Hour, spread: 0.125, maxSpread: 3 * time.Hour, whatIf: true},
	{name: "10 h tokens (Pliant), defaults", lifetime: 10 * time.Hour},
	{name: "1 h tokens (partner API), defaults", lifetime: time.Hour},
	{name: "1 h tokens, no minimum window (MinSpread 1ns)", lifetime: time.Hour, minSpread: time.Nanosecond, whatIf: true},
	{name: "1 h tokens, Spread 0.25", lifetime: time.Hour, spread: 0.25, whatIf: true},
}

// herdBuckets are the histogram's bins of refreshes per run.
var herdBuckets = []struct {
	label  string
	lo, hi int
}{{"0", 0, 0}, {"1-9", 1, 9}, {"10-49", 10, 49}, {"50-99", 50, 99}, {"100-249", 100, 249}, {"250-499", 250, 499}, {"500-999", 500, 999}, {"1000", 1000, 1000}}

// TestThunderingHerd simulates 1,000 profiles whose tokens are all fetched
// by the same first run, with a scheduled run every 5 minutes for 48 hours,
// and reports how the refreshes spread over the later runs: the most in one
// run, and the histogram of refreshes per run. Rows marked "what if" are
// not the shipped defaults.
func TestThunderingHerd(t *testing.T) {
	needPerf(t)
	var rows [][]string
	var hist [][]string
	var defaultRuns []int
	for _, cfg := range herdConfigs {
		res := simulateHerd(t, cfg)
		later := res.perRun[1:]
		maxLater := slices.Max(later)
		busy := 0
		for _, n := range later {
			if n > 0 {
				busy++
			}
		}
		name := cfg.name
		if cfg.whatIf {
			name += " (what if)"
		}
		window := "none"
		rot := rotate.Rotator{Spread: cfg.spread, MaxSpread: cfg.maxSpread, MinSpread: cfg.minSpread}
		if w := rot.SpreadWindow(profile.Profile{RefreshBefore: profile.DefaultRefreshBefore}, cfg.lifetime); w > 0 {
			window = human(w)
		}
		slices.Sort(res.used)
		rows = append(rows, []string{name, window, itoa(res.perRun[0]), itoa(maxLater), fmt.Sprintf("%.0f%%", 100*float64(maxLater)/herdProfiles),
			itoa(busy), itoa(res.requests), fmt.Sprintf("%.1f%%", 100*res.used[len(res.used)/2]), fmt.Sprintf("%.1f%%", 100*res.used[0])})
		counts := make([]string, len(herdBuckets))
		for i, b := range herdBuckets {
			n := 0
			for _, c := range later {
				if c >= b.lo && c <= b.hi {
					n++
				}
			}
			counts[i] = itoa(n)
		}
		hist = append(hist, append([]string{name}, counts...))
		if cfg.name == herdConfigs[0].name {
			defaultRuns = res.perRun
		}
		progressf("thundering herd: %s: at most %d refreshes in one run after the first", name, maxLater)
	}

	rep := newReport(t, "50-thundering-herd", fmt.Sprintf("Thundering herd: %d profiles fetched together, a run every %s for %s (simulated)",
		herdProfiles, human(herdInterval), human(herdSpan)))
	rep.printf("Under the quota model's write budget: PutParameter 3 TPS, 15 min Lambda timeout (a run's writes take writes/TPS).\n" +
		"The real Rotator on a simulated clock over in-memory SSM (real tokenstore) and a fetcher that answers at once;\n" +
		"refresh_before 15m (the default). Spread window = Spread x lifetime, within [MinSpread, MaxSpread] and at most half the\n" +
		"lifetime left after refresh_before (rotate.Rotator.SpreadWindow). \"Lifetime used\" is how much of its\n" +
		"lifetime a token had served when it was replaced (the providers want it close to 100%%).\n\n")
	rep.table([]string{"fleet", "spread window", "first run", "max in a later run", "of fleet", "runs with refreshes", "token requests in 48 h", "lifetime used (median)", "(min)"}, rows)
	rep.printf("Runs after the first, by refreshes in the run (%d runs):\n\n", len(defaultRuns)-1)
	header := []string{"fleet"}
	for _, b := range herdBuckets {
		header = append(header, b.label)
	}
	rep.table(header, hist)
	rep.printf("%s, every run with a refresh:\n\n```\n", herdConfigs[0].name)
	for i, n := range defaultRuns {
		if n == 0 {
			continue
		}
		at := time.Duration(i) * herdInterval
		bar := strings.Repeat("#", max(1, n*60/herdProfiles))
		rep.printf("+%02dh%02dm %4d %s\n", int(at.Hours()), int(at.Minutes())%60, n, bar)
	}
	rep.printf("```\n\n")
	rep.done()
}
