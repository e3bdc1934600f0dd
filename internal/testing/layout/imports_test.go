package layout

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/m2mtokens/oauth-token-rotator/"

// flow is the rotator's side, left to right: each package may import only
// those before it (and base and leaves).
var flow = []string{"internal/profile", "internal/clientcred", "internal/oauth", "internal/tokenstore", "internal/rotate"}

// base may be imported by every side; leaves import nothing of this module.
var (
	base   = []string{"pkg/tokenrecord", "internal/redact"}
	leaves = []string{"internal/awsenv", "internal/emf", "internal/redact", "internal/throttle", "internal/urlpolicy", "internal/version"}
)

// allowed reports which packages of this module pkg may import, as the
// docs/development.md states it.
func allowed(pkg string) []string {
	switch {
	case slices.Contains(leaves, pkg):
		return nil
	case pkg == "pkg/tokenrecord":
		return []string{"internal/redact"}
	case strings.HasPrefix(pkg, "pkg/tokencache"):
		return append(append(slices.Clone(base), leaves...), "pkg/tokencache")
	}
	i := slices.Index(flow, pkg)
	if i < 0 {
		return nil
	}
	return append(append(slices.Clone(base), leaves...), flow[:i]...)
}

// TestImportsFlowOneWay lists the shipped packages' imports with go list and
// fails on one the layout does not allow.
func TestImportsFlowOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"pkg/...", module+"internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if strings.HasPrefix(pkg, "internal/testing") || strings.HasPrefix(pkg, "internal/oauth/conformance") {
			continue // test-only
		}
		if allowed(pkg) == nil && !slices.Contains(leaves, pkg) && !slices.Contains(flow, pkg) && pkg != "pkg/tokenrecord" {
			t.Errorf("package %s has no place in the layout: add it to flow, base or leaves, and to docs/development.md", pkg)
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, module)
			if ours && !slices.Contains(allowed(pkg), dep) {
				t.Errorf("%s imports %s, which the layout does not allow (docs/development.md, Layout)", pkg, dep)
			}
		}
	}
	if checked < len(flow)+len(leaves) {
		t.Errorf("checked %d packages; want at least %d", checked, len(flow)+len(leaves))
	}
}
