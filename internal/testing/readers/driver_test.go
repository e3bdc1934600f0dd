package readers

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// An interp is an interpreter the readers run on, pinned in
// internal/testing/readers/runtimes and installed into .build/readers by
// make readers-deps.
type interp struct {
	name      string // python3.10, node22
	lang      string // "python" or "node"
	version   string // what it must report: "3.10." or "v22."
	bin       string
	site      string // Python: the readers' dependencies for this interpreter
	installed string // the stamp make readers-deps leaves
}

// interps lists the pinned interpreters: one per python<version>.mod and
// one per node<major>-<arch> package of this machine's architecture.
func interps(t *testing.T, root string) []interp {
	t.Helper()
	pins := filepath.Join(root, "internal", "testing", "readers", "runtimes")
	deps := filepath.Join(root, ".build", "readers")
	mods, err := filepath.Glob(filepath.Join(pins, "python*.mod"))
	if err != nil || len(mods) == 0 {
		t.Fatalf("no python*.mod in %s: %v", pins, err)
	}
	var out []interp
	for _, m := range mods {
		v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "python"), ".mod")
		dir := filepath.Join(deps, "python"+v)
		out = append(out, interp{name: "python" + v, lang: "python", version: v + ".",
			bin: filepath.Join(dir, "cpython", "bin", "python3"), site: filepath.Join(dir, "site"),
			installed: filepath.Join(dir, ".installed")})
	}
	b, err := os.ReadFile(filepath.Join(pins, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		OptionalDependencies map[string]string `json:"optionalDependencies"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatalf("%s/package.json: %v", pins, err)
	}
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	var nodes []string
	for name := range pkg.OptionalDependencies { // node22-x64, node22-arm64, …
		if major, ok := strings.CutSuffix(name, "-"+arch); ok {
			nodes = append(nodes, major)
		}
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		out = append(out, interp{name: n, lang: "node", version: "v" + strings.TrimPrefix(n, "node") + ".",
			bin:       filepath.Join(deps, "node-runtimes", "node_modules", n+"-"+arch, "bin", "node"),
			installed: filepath.Join(deps, "node-runtimes", ".installed")})
	}
	return out
}

// driverCommand returns a function that builds the command starting r's
// driver on rt with env (the standard AWS environment pointing at the
// proxy). It skips (fails under CI=true) when the interpreter or the
// dependencies installed by make readers-deps are missing.
func driverCommand(t *testing.T, root string, r reader, rt interp, env []string) func() *exec.Cmd {
	t.Helper()
	here := filepath.Join(root, "pkg", "tokenrecord", "readers")
	needFile(t, rt.installed)
	env = append(env[:len(env):len(env)], "PATH="+os.Getenv("PATH"), "HOME="+os.Getenv("HOME"),
		// A zone half an hour off UTC, so that a time read as local time
		// is visibly wrong.
		"TZ=America/St_Johns")
	var dir string
	var args []string
	switch rt.lang {
	case "python":
		args, dir = []string{filepath.Join(here, "testdata", "drive.py"), r.arg}, here
		env = append(env, "PYTHONPATH="+here+string(os.PathListSeparator)+rt.site, "PYTHONDONTWRITEBYTECODE=1")
	case "node":
		deps := filepath.Join(root, ".build", "readers", "node")
		needFile(t, filepath.Join(deps, ".installed"))
		// Node resolves packages from the importing file's folders, so the
		// shipped files run from a folder beside node_modules.
		var err error
		if dir, err = os.MkdirTemp(deps, "run-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		files, _ := filepath.Glob(filepath.Join(here, "*.mjs"))
		for _, f := range append(files, filepath.Join(here, "testdata", "drive.mjs")) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		args = []string{filepath.Join(dir, "drive.mjs"), r.arg}
	}
	return func() *exec.Cmd {
		cmd := exec.Command(rt.bin, args...)
		cmd.Dir, cmd.Env = dir, env
		return cmd
	}
}

func needFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		skipOrFail(t, path+" not found: run  make readers-deps")
	}
}

func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the readers' tests must run)", msg)
	}
	t.Skip(msg)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// driver is a running testdata/drive.* process.
type driver struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	mu     sync.Mutex
	stdout strings.Builder // every line read
	stderr strings.Builder
}

type answer struct {
	OK      bool   `json:"ok"`
	SHA256  string `json:"sha256"`
	Len     int    `json:"len"`
	Type    string `json:"type"`
	Kind    string `json:"kind"`
	Text    string `json:"text"`
	Version string `json:"version"`
}

func startDriver(t *testing.T, cmd *exec.Cmd) *driver {
	t.Helper()
	d := &driver{cmd: cmd}
	var err error
	if d.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.out = bufio.NewReaderSize(out, 1<<20)
	cmd.Stderr = &lockedBuilder{b: &d.stderr, mu: &d.mu}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return d
}

func (d *driver) call(t *testing.T, req map[string]any) answer {
	t.Helper()
	b, _ := json.Marshal(req)
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		t.Fatalf("driver %v: write: %v\nstderr:\n%s", d.cmd.Args, err, d.errText())
	}
	line, err := d.out.ReadString('\n')
	d.stdout.WriteString(line)
	if err != nil {
		t.Fatalf("driver %v: read: %v\nstderr:\n%s", d.cmd.Args, err, d.errText())
	}
	var a answer
	if err := json.Unmarshal([]byte(line), &a); err != nil {
		t.Fatalf("driver %v: answer %q: %v", d.cmd.Args, line, err)
	}
	return a
}

func (d *driver) errText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// close ends the driver and returns everything it printed.
func (d *driver) close(t *testing.T) string {
	_ = d.in.Close()
	rest, _ := io.ReadAll(d.out)
	d.stdout.Write(rest)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("driver %v: %v\nstderr:\n%s", d.cmd.Args, err, d.errText())
	}
	return d.stdout.String() + "\n" + d.errText()
}

type lockedBuilder struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
