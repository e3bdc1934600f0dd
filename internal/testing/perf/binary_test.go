package perf

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// TestRotatorBinary runs the built rotator bootstrap (host build, the
// Makefile's flags) through the fake Runtime API with 1,000 due profiles
// against moto (through the counting proxy) and a token endpoint with 100 ms
// latency, then once more with nothing due, and reports the process's peak
// resident memory (VmHWM): what Lambda's 128 MB limit applies to.
func TestRotatorBinary(t *testing.T) {
	needPerf(t)
	idp := oauthtest.NewServer(oauthtest.AVIVCaaS)
	defer idp.Close()
	idp.SetLatency(scaleLatency)
	r := newAWSRig(t)
	r.seedSecrets(t, secretValues(scaleProfiles, idp))
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "profiles", "perf.yaml"), fleetDoc(scaleProfiles, idp.TokenURL("aviv-caas")), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := bootstrap(t, "host", "rotator")

	var rows [][]string
	for _, c := range []int{rotate.DefaultConcurrency, 64} {
		env := append(mototest.EnvFor(r.proxy.URL), "PROFILES_FILE=profiles/perf.yaml",
			fmt.Sprintf("TOKEN_PARAMETER_PREFIX=/perf-binary-c%d", c), fmt.Sprintf("ROTATOR_CONCURRENCY=%d", c),
			"ROTATOR_WRITE_RATE=10000") // without the quota model: moto does not throttle, the run is not paced
		rt := lambdatest.Start(t, bin, env, lambdatest.WithTaskRoot(root), lambdatest.WithFunctionName("rotator"),
			lambdatest.WithTimeout(120*time.Second), lambdatest.WithMemory(128))
		for _, run := range []struct {
			name string
			want int
		}{{"all due", scaleProfiles}, {"nothing due", 0}} {
			r.proxy.Reset()
			before := idp.RequestCount()
			res, err := rt.Invoke(context.Background(), []byte(`{}`))
			if err != nil || res.Err != nil {
				t.Fatalf("Invoke = %v, %v", res.Err, err)
			}
			var sum rotate.Summary
			if err := json.Unmarshal(res.Payload, &sum); err != nil || len(sum.Refreshed) != run.want || idp.RequestCount()-before != run.want {
				t.Fatalf("%s: answer with %d refreshed (%v), %d token requests; want %d", run.name, len(sum.Refreshed), err, idp.RequestCount()-before, run.want)
			}
			calls := 0
			for _, n := range r.proxy.Counts() {
				calls += n
			}
			hwm, rss := procStatus(rt.PID(), "VmHWM"), procStatus(rt.PID(), "VmRSS")
			progressf("rotator bootstrap: concurrency %d, %s: %s, peak RSS %s", c, run.name, secs(res.Duration), mib(hwm))
			rows = append(rows, []string{itoa(c), run.name, secs(res.Duration), itoa(calls), mib(rss), mib(hwm)})
		}
		rt.Close()
	}
	rep := newReport(t, "40-rotator-binary", fmt.Sprintf("Rotator bootstrap memory: %d profiles, token endpoint latency %s, moto (WITHOUT the quota model)", scaleProfiles, human(scaleLatency)))
	rep.printf("The built bootstrap (host build, Makefile flags) through lambdatest's fake Runtime API, SSM and Secrets Manager in moto\n" +
		"behind the counting proxy; one process per concurrency (ROTATOR_CONCURRENCY), a first run with every profile due, then a\n" +
		"warm run with none due; ROTATOR_WRITE_RATE=10000, so that all 1,000 are written in one run (the memory of a first\n" +
		"fill at 3/s is the same per profile, over 6 minutes). Duration as Lambda reports it; RSS and peak RSS (VmHWM) of the process after each run.\n" +
		"Lambda's limit is the function's MemorySize, 128 MB.\n\n")
	rep.table([]string{"concurrency", "run", "duration", "AWS calls", "RSS", "peak RSS"}, rows)
	rep.done()
}
