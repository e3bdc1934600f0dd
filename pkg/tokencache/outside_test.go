package tokencache_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOutsideModule builds a module outside this one (testdata/outside, with
// a replace directive pointing here) and runs its test: another team's code
// that can import only the public packages uses TokenSource with
// oauth2.NewClient and follows a rotated record. It resolves modules from
// the local module cache only (GOPROXY=off); when the toolchain cannot, it
// skips, except under CI=true, where it fails.
func TestOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a second module; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		unavailable(t, "no go command on PATH: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/outside/follow_test.go")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	oauth2Version := requiredVersion(t, filepath.Join(root, "go.mod"), "golang.org/x/oauth2")
	mod := "module example.com/outside\n\ngo 1.26\n\n" +
		"require (\n\tgithub.com/m2mtokens/oauth-token-rotator v0.0.0\n\tgolang.org/x/oauth2 " + oauth2Version + "\n)\n\n" +
		"replace github.com/m2mtokens/oauth-token-rotator => " + root + "\n"
	for name, data := range map[string][]byte{"go.mod": []byte(mod), "go.sum": sum, "follow_test.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "test", "-count=1", "-v", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOSUMDB=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err != nil && offlineFailure(out.String()) {
		unavailable(t, "the toolchain cannot resolve the outside module's dependencies offline:\n%s", out.String())
	}
	if err != nil {
		t.Fatalf("go test in the outside module: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "--- PASS: TestOAuth2ClientFollowsRotatedRecord") {
		t.Errorf("go test in the outside module did not run its test:\n%s", out.String())
	}
}

// offlineFailure reports whether go's output says a module could not be
// fetched, as opposed to a build or test failure.
func offlineFailure(out string) bool {
	for _, s := range []string{"module lookup disabled by GOPROXY=off", "cannot find module providing package", "missing go.sum entry"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// unavailable skips the test, or fails it under CI=true.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// requiredVersion returns the version of module path that go.mod requires.
func requiredVersion(t *testing.T, goMod, path string) string {
	t.Helper()
	b, err := os.ReadFile(goMod)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == path {
			return f[1]
		}
	}
	t.Fatalf("%s does not require %s", goMod, path)
	return ""
}
