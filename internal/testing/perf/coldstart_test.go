package perf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

const (
	coldStarts = 15
	sizeTarget = 8 << 20
)

// coldStartEnv is each function's environment for a cold start: the
// bundled sandbox profiles, as the build copies them, and an AWS endpoint
// nobody answers (no AWS call is made before the first invocation).
var coldStartEnv = map[string][]string{
	"rotator":  append(mototest.EnvFor("http://127.0.0.1:9"), "PROFILES_FILE=profiles/sandbox.yaml"),
	"consumer": append(mototest.EnvFor("http://127.0.0.1:9"), "PROFILE=aviv-caas-agency-42", "API_BASE_URL=https://api.example.com"),
}

// TestColdStart reports the size of each bootstrap, as shipped (linux/arm64)
// and for this host, both built by the Makefile's build-<LogicalId>
// targets, and the host build's cold start: the time from starting the
// process to its first Runtime API request (lambdatest's InitDuration),
// over several starts, with its resident memory at that moment.
func TestColdStart(t *testing.T) {
	needPerf(t)
	var sizeRows, startRows [][]string
	for _, f := range functions {
		arm, host := bootstrap(t, "arm64", f.name), bootstrap(t, "host", f.name)
		armSize, hostSize := fileSize(t, arm), fileSize(t, host)
		verdict := "yes" // the target is for what ships: template.yaml deploys arm64
		if armSize >= sizeTarget {
			verdict = "NO"
		}
		sizeRows = append(sizeRows, []string{f.name, mib(armSize), itoa(int(armSize)), mib(hostSize), itoa(int(hostSize)), verdict})

		var inits []time.Duration
		var rss []uint64
		for i := range coldStarts + 1 {
			d, r := coldStart(t, host, coldStartEnv[f.name])
			if i == 0 {
				continue // the first start after the build pays for the page cache
			}
			inits, rss = append(inits, d), append(rss, r)
		}
		slices.Sort(inits)
		slices.Sort(rss)
		med := inits[len(inits)/2]
		progressf("cold start: %s median %s over %d starts", f.name, ms1(med), coldStarts)
		startRows = append(startRows, []string{f.name, ms1(med), ms1(inits[0]), ms1(inits[len(inits)-1]), mib(rss[len(rss)/2])})
	}
	rep := newReport(t, "60-cold-start", "Bootstrap size and cold start")
	rep.printf("Built by `make build-<LogicalId>` (CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags=\"-s -w\"): arm64 as shipped,\n" +
		"and for this host (the same flags and targets, LAMBDA_ENV overridden). Target: under 8 MiB for the arm64 build,\n" +
		"which is what template.yaml deploys; the host column is for comparison.\n\n")
	rep.table([]string{"function", "arm64", "arm64 bytes", "host", "host bytes", "arm64 under 8 MiB"}, sizeRows)
	rep.printf("Cold start of the host build through lambdatest's fake Runtime API: process start to its first\n"+
		"GET /runtime/invocation/next (InitDuration), %d starts after one unmeasured start; RSS = VmRSS at that moment.\n\n", coldStarts)
	rep.table([]string{"function", "median init", "min", "max", "median RSS at init"}, startRows)
	rep.done()
}

// coldStart starts the bootstrap once and returns its InitDuration and RSS.
func coldStart(t *testing.T, bin string, env []string) (time.Duration, uint64) {
	t.Helper()
	_, rt, d, done := launchCold(t, bin, env)
	defer done()
	return d, procStatus(rt.PID(), "VmRSS")
}

// launchCold starts bin through the Runtime API driver and waits for its
// init: a context of 30 s, the runtime, the init's duration, and done,
// which stops the runtime and ends the context (call it before the next
// start, so that starts do not overlap).
func launchCold(t *testing.T, bin string, env []string) (context.Context, *lambdatest.Runtime, time.Duration, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	rt, err := lambdatest.Launch(ctx, bin, env, lambdatest.WithTaskRoot(filepath.Dir(bin)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := func() { rt.Close(); cancel() }
	d, err := rt.WaitInit(ctx)
	if err != nil {
		done()
		t.Fatalf("WaitInit(%s) = %v", bin, err)
	}
	return ctx, rt, d, done
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func ms1(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// TestColdStartCompare starts other builds of the functions, interleaved so
// that machine load hits them all alike, and prints their sizes and cold
// starts: the measurement behind a decision such as upgrading an SDK client
// (docs/performance.md, Bootstrap size). PERF_COMPARE is a comma-separated list of
// directories, each holding Rotator/ and Consumer/ as the Makefile's
// build-RotatorFunction and build-ConsumerFunction targets write them
// (ARTIFACTS_DIR=<dir>/Rotator ...), built for this host.
func TestColdStartCompare(t *testing.T) {
	needPerf(t)
	list := os.Getenv("PERF_COMPARE")
	if list == "" {
		t.Skip("PERF_COMPARE=<dir>,<dir>,... lists the builds to compare")
	}
	dirs := strings.Split(list, ",")
	const rounds = 60
	inits := map[string][]time.Duration{}
	rss := map[string][]uint64{}
	for i := range rounds + 1 {
		for _, d := range dirs {
			for _, f := range []string{"Rotator", "Consumer"} {
				dur, r := coldStart(t, filepath.Join(d, f, "bootstrap"), coldStartEnv[strings.ToLower(f)])
				if i > 0 { // the first round pays for the page cache
					inits[d+" "+f] = append(inits[d+" "+f], dur)
					rss[d+" "+f] = append(rss[d+" "+f], r)
				}
			}
		}
	}
	var rows [][]string
	for _, f := range []string{"Rotator", "Consumer"} {
		for _, d := range dirs {
			k := d + " " + f
			slices.Sort(inits[k])
			slices.Sort(rss[k])
			n := len(inits[k])
			size := fileSize(t, filepath.Join(d, f, "bootstrap"))
			rows = append(rows, []string{f, filepath.Base(d), mib(size), ms1(inits[k][n/2]), ms1(inits[k][n/4]), ms1(inits[k][3*n/4]), mib(rss[k][n/2])})
		}
	}
	rep := newReport(t, "61-cold-start-compare", "Cold start compared")
	rep.printf("%d starts of each build, interleaved, after one unmeasured round; host builds.\n\n", rounds)
	rep.table([]string{"function", "build", "size", "median init", "p25", "p75", "median RSS at init"}, rows)
	rep.done()
}
