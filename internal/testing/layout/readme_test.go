package layout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEFitsAScreen keeps the README the size of the anchors' (issue
// 21): at most 150 lines, with the two commands a new user runs, make demo
// and make test, on its first screen.
func TestREADMEFitsAScreen(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 150 {
		t.Errorf("README.md has %d lines; want at most 150: move detail to docs/ and link it", len(lines))
	}
	first := strings.Join(lines[:min(len(lines), 30)], "\n")
	for _, cmd := range []string{"make demo", "make test"} {
		if !strings.Contains(first, "\n"+cmd+" ") {
			t.Errorf("README.md's first 30 lines lack the command %q at the start of a line", cmd)
		}
	}
}
