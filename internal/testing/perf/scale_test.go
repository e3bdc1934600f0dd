package perf

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

const (
	scaleProfiles = 1000
	scaleLatency  = 100 * time.Millisecond
	// scaleLeaseTTL lets the slow end of the curve (concurrency 1: 100 s of
	// latency alone) run to the end: a measurement of throughput, not a
	// Lambda run, whose 120 s timeout the default 2-minute lease matches.
	scaleLeaseTTL = 10 * time.Minute
)

// scaleConcurrency is the curve. Against moto, concurrency 1 is left out: it is
// bound by the endpoint latency alone (1,000 x 100 ms = 100 s, as the
// in-memory run shows) and would double the length of make bench.
var scaleConcurrency = []int{1, 8, 16, 32, 64}

// TestRotatorScale runs 1,000 due profiles against a local token endpoint
// that answers after 100 ms, at several concurrencies, twice: with the
// store and secrets in moto (through the counting proxy: what the rotator
// does against a real, if slow, AWS emulator) and with the in-memory fakes
// (the rotator's own cost: the token endpoint's latency and nothing else).
// It reports wall time, calls and the test process's peak heap.
func TestRotatorScale(t *testing.T) {
	needPerf(t)
	idp := oauthtest.NewServer(oauthtest.AVIVCaaS)
	defer idp.Close()
	idp.SetLatency(scaleLatency)
	values := secretValues(scaleProfiles, idp)
	r := newAWSRig(t)
	r.seedSecrets(t, values)

	type result struct {
		wall        time.Duration
		peak, alloc uint64
		calls       int
	}
	run := func(t *testing.T, rot *rotate.Rotator, calls func() int) result {
		t.Helper()
		before := idp.RequestCount()
		h := startHeapSampler()
		start := time.Now()
		sum, err := rot.Run(context.Background(), rotate.Request{})
		wall := time.Since(start)
		peak, alloc := h.end()
		if err != nil || len(sum.Refreshed) != scaleProfiles || idp.RequestCount()-before != scaleProfiles {
			t.Fatalf("Run = %d refreshed, %v, %d token requests; want %d refreshed", len(sum.Refreshed), err, idp.RequestCount()-before, scaleProfiles)
		}
		return result{wall: wall, peak: peak, alloc: alloc, calls: calls()}
	}

	var rows [][]string
	for _, store := range []string{"moto", "in-memory"} {
		for _, c := range scaleConcurrency {
			if store == "moto" && c == 1 {
				continue
			}
			var res result
			prefix := fmt.Sprintf("/perf-scale-c%d", c)
			ps := fleet(t, scaleProfiles, idp.TokenURL("aviv-caas"), prefix)
			switch store {
			case "moto":
				rot := r.rotator(ps, c)
				rot.LeaseTTL = scaleLeaseTTL
				r.proxy.Reset()
				res = run(t, rot, func() int {
					n := 0
					for _, v := range r.proxy.Counts() {
						n += v
					}
					return n
				})
			default:
				mem, sec := newMemSSM(), &memSecrets{values: values}
				rot := &rotate.Rotator{Profiles: ps, Secrets: &clientcred.Reader{API: sec}, Store: &tokenstore.Store{API: mem},
					Fetcher: &oauth.Client{}, Concurrency: c, Logger: discard, Lease: rotate.RunLease(prefix), LeaseTTL: scaleLeaseTTL, WriteRate: -1}
				res = run(t, rot, func() int {
					return int(mem.getParameters.Load() + mem.putRecord.Load() + mem.putLease.Load() + mem.deleteParameter.Load() + sec.reads.Load())
				})
			}
			floor := time.Duration(ceilDiv(scaleProfiles, c)) * scaleLatency
			progressf("rotator scale: %s, concurrency %d: %s (latency floor %s)", store, c, secs(res.wall), secs(floor))
			rows = append(rows, []string{store, itoa(c), secs(res.wall), secs(floor), fmt.Sprintf("%.0f", float64(scaleProfiles)/res.wall.Seconds()),
				itoa(res.calls), fmt.Sprintf("%.0f", float64(res.calls)/res.wall.Seconds()), mib(res.peak), mib(res.alloc)})
		}
	}
	rep := newReport(t, "30-rotator-scale", fmt.Sprintf("Rotator scale: %d due profiles, token endpoint latency %s (WITHOUT the quota model)", scaleProfiles, human(scaleLatency)))
	rep.printf("Not under the quota model: moto never throttles and the rotator's write pacing is off (WriteRate -1), so this\n" +
		"is the rotator's own throughput; against real Parameter Store PutParameter (3 TPS) bounds it, see First fill.\n" +
		"One scheduled run with every profile due, in this test process. moto: SSM and Secrets Manager in moto_server\n" +
		"(one Python process on this machine; concurrency 1 is left out, being latency-bound like the in-memory run)\n" +
		"behind the counting proxy; in-memory: the same rotator, store and credentials code over in-memory SSM and Secrets Manager\n" +
		"fakes. Latency floor = ceil(N/concurrency) x latency. Peak heap = the test process's live heap (it also hosts the\n" +
		"token endpoint and the proxy); the bootstrap's own memory is in the next table.\n\n")
	rep.table([]string{"store", "concurrency", "wall", "latency floor", "profiles/s", "AWS calls", "AWS calls/s", "peak heap", "allocated"}, rows)
	rep.done()
}
