package lambdatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildTimeout bounds one `go build` started by Build.
const buildTimeout = 10 * time.Minute

// buildDirPrefix names the per-process directory Build writes binaries to;
// the process id follows it, so a later process can recognise and remove the
// directories of processes that have gone.
const buildDirPrefix = "lambdatest-build-"

var (
	buildsMu sync.Mutex
	builds   = map[string]*buildEntry{}

	buildDirOnce sync.Once
	buildDir     string
	buildDirErr  error
)

type buildEntry struct {
	seq  int // distinguishes packages with the same last element
	once sync.Once
	path string
	err  error
}

// Build compiles the main package pkg (a path relative to the module root,
// such as "./functions/rotator") as BuildBinary does, and returns the path of
// the `bootstrap` binary. The binary is built once per test process and
// package, and shared by every test that asks for it, so treat its directory
// as read-only. Build fails the test if the package does not build.
//
// The binaries live in a directory under os.TempDir named after the process;
// Build removes the directories left by earlier test processes that have
// exited.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	buildsMu.Lock()
	e, ok := builds[pkg]
	if !ok {
		e = &buildEntry{seq: len(builds) + 1}
		builds[pkg] = e
	}
	buildsMu.Unlock()

	e.once.Do(func() {
		dir, err := processBuildDir()
		if err != nil {
			e.err = err
			return
		}
		sub := filepath.Join(dir, strconv.Itoa(e.seq)+"-"+path.Base(filepath.ToSlash(pkg)))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			e.err = fmt.Errorf("lambdatest: build %s: %w", pkg, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		out := filepath.Join(sub, "bootstrap")
		if err := BuildBinary(ctx, pkg, out); err != nil {
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

// BuildBinary compiles the main package pkg (a path relative to the module
// root, found with `go env GOMOD`, or an import path) into outPath with the
// flags the Makefile uses for Lambda: CGO_ENABLED=0, -tags lambda.norpc,
// -trimpath and -ldflags="-s -w". It builds for the host's GOOS and GOARCH,
// not linux/arm64, so the binary can run here. The compiler's output is part
// of the error.
func BuildBinary(ctx context.Context, pkg, outPath string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(outPath)
	if err != nil {
		return fmt.Errorf("lambdatest: build %s: %w", pkg, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build",
		"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w",
		"-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0",
		"GOOS="+runtime.GOOS,
		"GOARCH="+runtime.GOARCH,
	)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lambdatest: build %s: %w\n%s", pkg, err, bytes.TrimSpace(output))
	}
	return nil
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
