package functions_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
)

// bootstrapBudget is the size each shipped bootstrap must stay under
// (issue 7): 8 MiB.
const bootstrapBudget = 8 << 20

// TestBootstrapSizeBudget builds each function as `sam build` does (the
// Makefile's build-<LogicalId> target: linux/arm64, -tags lambda.norpc,
// -trimpath, -ldflags="-s -w") and fails if a bootstrap reaches 8 MiB.
// Sizes are deterministic for a given toolchain and go.sum, so this is a
// budget, not a timing. The usual way to break it is a dependency that
// links a large package init: see docs/performance.md, "Bootstrap size
// and the held SDK clients" (the held ssm and secretsmanager versions,
// awsenv in place of config.LoadDefaultConfig) before raising it.
func TestBootstrapSizeBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both functions for linux/arm64")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not on the PATH")
	}
	t.Parallel()
	for _, id := range []string{"RotatorFunction", "ConsumerFunction"} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if err := lambdatest.MakeBootstrap(ctx, id, dir, "linux", "arm64"); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(dir, "bootstrap"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s bootstrap: %s (%d bytes), budget %s", id, mib(fi.Size()), fi.Size(), mib(bootstrapBudget))
			if fi.Size() >= bootstrapBudget {
				t.Errorf("%s bootstrap is %s (%d bytes); the budget is under %s", id, mib(fi.Size()), fi.Size(), mib(bootstrapBudget))
			}
		})
	}
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
