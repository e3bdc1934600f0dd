package perf

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
)

// functions are the Lambda functions, by the SAM logical id whose
// build-<LogicalId> Makefile target builds them.
var functions = []struct{ name, logicalID string }{
	{"rotator", "RotatorFunction"},
	{"consumer", "ConsumerFunction"},
}

// builds are the bootstraps, built once per test process by the Makefile's
// own targets (lambdatest.MakeBootstrap): as shipped (linux/arm64) and for
// this host, with the same flags (CGO_ENABLED=0, -tags lambda.norpc,
// -trimpath, -ldflags="-s -w").
var builds struct {
	once sync.Once
	dir  string
	err  error
}

// buildDir returns the directory of the builds:
// <dir>/<arch>/<function>/bootstrap, the rotator with its profiles/ beside
// it, as `sam build` lays them out. arch is "arm64" or "host".
func buildDir(t *testing.T) string {
	t.Helper()
	builds.once.Do(func() {
		builds.dir, builds.err = os.MkdirTemp("", "perf-bootstraps-")
		if builds.err != nil {
			return
		}
		targets := map[string][2]string{"arm64": {"linux", "arm64"}, "host": {runtime.GOOS, runtime.GOARCH}}
		for _, f := range functions {
			for _, arch := range []string{"arm64", "host"} {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				builds.err = lambdatest.MakeBootstrap(ctx, f.logicalID, filepath.Join(builds.dir, arch, f.name), targets[arch][0], targets[arch][1])
				cancel()
				if builds.err != nil {
					return
				}
			}
		}
	})
	if builds.err != nil {
		t.Fatal(builds.err)
	}
	return builds.dir
}

func bootstrap(t *testing.T, arch, function string) string {
	return filepath.Join(buildDir(t), arch, function, "bootstrap")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}
