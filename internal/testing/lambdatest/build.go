package lambdatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildTimeout bounds one build started by Build.
const buildTimeout = 10 * time.Minute

// buildDirPrefix names the per-process directory Build writes binaries to;
// the process id follows it, so a later process can recognise and remove the
// directories of processes that have gone.
const buildDirPrefix = "lambdatest-build-"

// functions maps each function's main package to the SAM logical id whose
// build-<LogicalId> Makefile target builds it.
var functions = map[string]string{
	"./functions/rotator":  "RotatorFunction",
	"./functions/consumer": "ConsumerFunction",
}

// MakeBootstrap builds a function the one way this project builds one: the
// Makefile's build-<logicalID> target, the command `sam build` runs
// (CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags="-s -w"), with
// ARTIFACTS_DIR=dir, so the binary is dir/bootstrap (with profiles/ beside
// it for the rotator). goos and goarch replace the target's linux/arm64:
// runtime.GOOS and runtime.GOARCH for a binary that runs here. The build is
// unstamped (VERSION=), without the caller's GOFLAGS and outside any parent
// make's jobserver, as a release builds it. make's output is part of the
// error.
func MakeBootstrap(ctx context.Context, logicalID, dir, goos, goarch string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("lambdatest: make build-%s: %w", logicalID, err)
	}
	args := []string{"-s", "-C", root, "build-" + logicalID, "ARTIFACTS_DIR=" + abs, "VERSION=",
		"LAMBDA_ENV=CGO_ENABLED=0 GOOS=" + goos + " GOARCH=" + goarch}
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Env = append(withoutEnv(os.Environ(), "MAKEFLAGS", "MFLAGS", "MAKELEVEL"), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lambdatest: make build-%s: %w\n%s", logicalID, err, bytes.TrimSpace(out))
	}
	return nil
}

// BuildBinary builds the function whose main package is pkg
// ("./functions/rotator" or "./functions/consumer") for this host with
// MakeBootstrap, into outPath's directory; outPath must end in "bootstrap".
// It is for programs such as the local demo; tests call Build.
func BuildBinary(ctx context.Context, pkg, outPath string) error {
	id, ok := functions[pkg]
	if !ok {
		return fmt.Errorf("lambdatest: build %s: no Makefile target builds it; want one of ./functions/rotator, ./functions/consumer", pkg)
	}
	if filepath.Base(outPath) != "bootstrap" {
		return fmt.Errorf("lambdatest: build %s: output %q: the Makefile writes a file named bootstrap", pkg, outPath)
	}
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return fmt.Errorf("lambdatest: build %s: %w", pkg, err)
	}
	return MakeBootstrap(ctx, id, filepath.Dir(outPath), runtime.GOOS, runtime.GOARCH)
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*buildEntry{}

	buildDirOnce sync.Once
	buildDir     string
	buildDirErr  error
)

type buildEntry struct {
	once sync.Once
	path string
	err  error
}

// Build builds the function whose main package is pkg
// ("./functions/rotator" or "./functions/consumer") for this host with
// MakeBootstrap, and returns the path of its bootstrap. The binary is built
// once per test process and shared by every test that asks for it, so treat
// its directory as read-only. Build fails the test if the function does not
// build.
//
// The binaries live in a directory under os.TempDir named after the process;
// Build removes the directories left by earlier test processes that have
// exited.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	return buildOnce(tb, pkg, BuildBinary)
}

// buildOnce runs build for key once per process, into a directory of its
// own, and returns the binary's path.
func buildOnce(tb testing.TB, key string, build func(ctx context.Context, key, out string) error) string {
	tb.Helper()
	buildsMu.Lock()
	e, ok := builds[key]
	if !ok {
		e = &buildEntry{}
		builds[key] = e
	}
	n := len(builds)
	buildsMu.Unlock()

	e.once.Do(func() {
		dir, err := processBuildDir()
		if err != nil {
			e.err = err
			return
		}
		out := filepath.Join(dir, strconv.Itoa(n)+"-"+filepath.Base(key), "bootstrap")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		if err := build(ctx, key, out); err != nil {
			e.err = err
			return
		}
		e.path = out
	})
	if e.err != nil {
		tb.Fatal(e.err)
	}
	return e.path
}

// goBuild compiles the main package pkg, which no Makefile target builds
// (the package's own test fixture), into out with the flags of the
// Makefile's targets, for this host.
func goBuild(ctx context.Context, pkg, out string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("lambdatest: build %s: %w", pkg, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lambdatest: build %s: %w\n%s", pkg, err, bytes.TrimSpace(output))
	}
	return nil
}

// withoutEnv returns env without the entries of keys.
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

// moduleRoot returns the directory of the main module's go.mod, as seen from
// the current directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("lambdatest: go env GOMOD: %w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return "", fmt.Errorf("lambdatest: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("lambdatest: go env GOMOD: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// processBuildDir returns this process's build directory, creating it (and
// removing the ones of exited processes) on first use.
func processBuildDir() (string, error) {
	buildDirOnce.Do(func() {
		removeStaleBuildDirs()
		buildDir, buildDirErr = os.MkdirTemp("", buildDirPrefix+strconv.Itoa(os.Getpid())+"-")
		if buildDirErr != nil {
			buildDirErr = fmt.Errorf("lambdatest: build directory: %w", buildDirErr)
		}
	})
	return buildDir, buildDirErr
}

// removeStaleBuildDirs removes build directories whose process no longer
// exists. Errors are ignored: a directory left behind costs only disk space.
func removeStaleBuildDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), buildDirPrefix+"*-*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), buildDirPrefix)
		pidText, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(m)
		}
	}
}
