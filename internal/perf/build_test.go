package perf

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// functions are the Lambda functions, by the SAM logical id whose
// build-<LogicalId> Makefile target builds them.
var functions = []struct{ name, logicalID string }{
	{"rotator", "RotatorFunction"},
	{"consumer", "ConsumerFunction"},
}

// builds are the bootstraps, built once per test process by the Makefile's
// own targets: as shipped (linux/arm64) and for this host, with the same
// flags (CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags="-s -w").
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
		root, err := moduleRoot()
		if err != nil {
			builds.err = err
			return
		}
		hostEnv := "LAMBDA_ENV=CGO_ENABLED=0 GOOS=" + runtime.GOOS + " GOARCH=" + runtime.GOARCH
		for _, f := range functions {
			for _, arch := range []string{"arm64", "host"} {
				args := []string{"-s", "-C", root, "build-" + f.logicalID, "ARTIFACTS_DIR=" + filepath.Join(builds.dir, arch, f.name)}
				if arch == "host" {
					args = append(args, hostEnv)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				cmd := exec.CommandContext(ctx, "make", args...)
				// A make bench parent's jobserver is not ours.
				cmd.Env = withoutEnv(os.Environ(), "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					builds.err = &buildError{args: args, err: err, out: out}
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

type buildError struct {
	args []string
	err  error
	out  []byte
}

func (e *buildError) Error() string {
	return "make " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + string(bytes.TrimSpace(e.out))
}

func bootstrap(t *testing.T, arch, function string) string {
	return filepath.Join(buildDir(t), arch, function, "bootstrap")
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func withoutEnv(env []string, keys ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, key := range keys {
			drop = drop || k == key
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}
