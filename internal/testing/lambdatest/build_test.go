package lambdatest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Not parallel: it sets TMPDIR.
func TestStaleBuildDirsOfExitedProcessesAreRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{ // name: want it kept
		buildDirPrefix + strconv.Itoa(gone.Process.Pid) + "-1": false,
		buildDirPrefix + strconv.Itoa(os.Getpid()) + "-2":      true,
		buildDirPrefix + "1-3":                                 true, // init is alive
		buildDirPrefix + "notapid-4":                           true,
		"unrelated-5":                                          true,
	}
	for name := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, name, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleBuildDirs()
	for name, keep := range dirs {
		_, err := os.Stat(filepath.Join(tmp, name))
		if kept := err == nil; kept != keep {
			t.Errorf("after removeStaleBuildDirs, %s kept = %v; want %v", name, kept, keep)
		}
	}
}
