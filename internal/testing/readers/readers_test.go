package readers

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// A reader under test: how to start its driver (testdata/drive.py or
// testdata/drive.mjs) and whether it goes through the Extension stand-in.
type reader struct {
	name      string
	runtime   string // "python" or "node"
	arg       string // the driver's argument
	extension bool
}

var readers = []reader{
	{name: "boto3", runtime: "python", arg: "boto3"},
	{name: "powertools-python", runtime: "python", arg: "powertools"},
	{name: "extension", runtime: "python", arg: "extension", extension: true},
	{name: "sdk-v3", runtime: "node", arg: "sdk"},
	{name: "powertools-typescript", runtime: "node", arg: "powertools"},
}

// A step of a case. Exactly one of the fields says what it does.
type step struct {
	put      string        // the Go side writes this value to the case's parameter
	get      string        // a get must serve the token with this label ("" when want is set)
	wantKind string        // a get must fail with this error kind
	advance  time.Duration // the reader's clock moves on
	age      bool          // the maximum age passes: clock + 301 s, SDK caches cleared
	fail     bool          // every GetParameter from now on fails (AccessDeniedException)
}

type readerCase struct {
	name  string
	steps []step
	reads int // GetParameter calls expected
	// extReads, when not zero, is the count for the Extension recipe, whose
	// stand-in reads once and whose recipe reads again itself when the
	// stand-in's copy is unusable.
	extReads int
}

const hour = time.Hour

// tokens are long and random-looking, so that leakcheck finds any 8-byte
// piece of them.
func tokenFor(label string, size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", label, i)))
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return "tok" + b.String()[:size-3]
}

// rec returns a record value whose access_token is the labelled token,
// expiring at now+in.
func rec(now time.Time, label string, in time.Duration, extra string) string {
	return fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_at":%q,"issued_at":%q,"profile":"p"%s}`,
		tokenFor(label, 48), now.Add(in).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), extra)
}

func cases(now time.Time) []readerCase {
	big := fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_at":%q,"profile":"p"}`,
		tokenFor("big", 3900), now.Add(hour).UTC().Format(time.RFC3339))
	notJSON := tokenFor("notjson", 40) // a bare token where the record should be
	return []readerCase{
		{name: "valid", reads: 1, steps: []step{
			{put: rec(now, "A", hour, "")}, {get: "A"}, {get: "A"}, {get: "A"}}},
		{name: "cached token comes inside the skew", reads: 2, steps: []step{
			{put: rec(now, "A", hour, "")}, {get: "A"},
			{advance: hour - 30*time.Second}, {put: rec(now, "B", 2*hour, "")}, {get: "B"}, {get: "B"}}},
		{name: "fresh record inside the skew", reads: 1, extReads: 2, steps: []step{
			{put: rec(now, "A", 30*time.Second, "")}, {wantKind: "expired"}}},
		{name: "cached token expires, no new record", reads: 2, steps: []step{
			{put: rec(now, "A", hour, "")}, {get: "A"}, {advance: hour + time.Minute}, {wantKind: "expired"}}},
		{name: "expired record", reads: 1, extReads: 2, steps: []step{
			{put: rec(now, "A", -10*time.Second, "")}, {wantKind: "expired"}}},
		{name: "not JSON", reads: 1, extReads: 2, steps: []step{{put: notJSON}, {wantKind: "unreadable"}}},
		{name: "missing access_token", reads: 1, extReads: 2, steps: []step{
			{put: fmt.Sprintf(`{"token_type":"Bearer","expires_at":%q}`, now.Add(hour).UTC().Format(time.RFC3339))},
			{wantKind: "unreadable"}}},
		{name: "empty access_token", reads: 1, extReads: 2, steps: []step{
			{put: fmt.Sprintf(`{"access_token":"","expires_at":%q}`, now.Add(hour).UTC().Format(time.RFC3339))},
			{wantKind: "unreadable"}}},
		{name: "access_token not a string", reads: 1, extReads: 2, steps: []step{
			{put: fmt.Sprintf(`{"access_token":null,"expires_at":%q}`, now.Add(hour).UTC().Format(time.RFC3339))},
			{wantKind: "unreadable"}}},
		{name: "JSON null", reads: 1, extReads: 2, steps: []step{{put: "null"}, {wantKind: "unreadable"}}},
		{name: "unknown fields", reads: 1, steps: []step{
			{put: rec(now, "A", hour, `,"fingerprint":"f00","future":{"nested":[1,2,{"x":null}]}`)}, {get: "A"}, {get: "A"}}},
		{name: "missing parameter", reads: 1, extReads: 2, steps: []step{{wantKind: "not_found"}}},
		{name: "4 KiB record", reads: 1, steps: []step{{put: big}, {get: "big"}, {get: "big"}}},
		{name: "rotated record read after the maximum age", reads: 2, steps: []step{
			{put: rec(now, "A", 2*hour, "")}, {get: "A"}, {put: rec(now, "B", 3*hour, "")}, {get: "A"},
			{age: true}, {get: "B"}}},
		{name: "a failing parameter is read at most once per 5 s", reads: 2, extReads: 3, steps: []step{
			{put: rec(now, "A", -10*time.Second, "")}, {wantKind: "expired"}, {wantKind: "expired"},
			{advance: 6 * time.Second}, {wantKind: "expired"}}},
		{name: "read failure with a valid cached token", reads: 3, extReads: 4, steps: []step{
			{put: rec(now, "A", hour, "")}, {get: "A"}, {fail: true}, {age: true}, {get: "A"},
			{advance: hour}, {wantKind: "read_failed"}}},
	}
}

// labelSize is the size of each label's token (see cases).
func labelSize(label string) int {
	if label == "big" {
		return 3900
	}
	return 48
}

func TestReaders(t *testing.T) {
	root := repoRoot(t)
	srv := mototest.Start(t)
	proxy := srv.Proxy(t)
	seed, _ := srv.Clients(t) // writes go to moto directly, so the proxy counts only reads
	cfg, err := mototest.ConfigFor(context.Background(), proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	ext := newExtension(ssm.NewFromConfig(cfg))
	t.Cleanup(ext.Close)

	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			cmd := driverCommand(t, root, r, append(mototest.EnvFor(proxy.URL),
				"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="+strings.TrimPrefix(ext.URL, "http://127.0.0.1:")))
			for i, c := range cases(time.Now()) {
				t.Run(c.name, func(t *testing.T) {
					param := fmt.Sprintf("%s/%s-%d", tokenrecord.DefaultPrefix, strings.ReplaceAll(r.name, "-", ""), i)
					runCase(t, cmd, ext, proxy, seed, param, c, r.extension)
				})
			}
		})
	}
}

func runCase(t *testing.T, cmd func() *exec.Cmd, ext *extension, proxy *mototest.Proxy, seed *ssm.Client,
	param string, c readerCase, viaExtension bool) {
	proxy.Clear()
	ext.clear()
	t.Cleanup(proxy.Clear)
	d := startDriver(t, cmd())
	profile := strings.TrimPrefix(param, tokenrecord.DefaultPrefix+"/")
	var secrets []string
	proxy.Reset()
	for i, s := range c.steps {
		switch {
		case s.put != "":
			secrets = append(secrets, s.put)
			if _, err := seed.PutParameter(context.Background(), &ssm.PutParameterInput{
				Name: aws.String(param), Value: aws.String(s.put), Type: types.ParameterTypeSecureString,
				Tier: types.ParameterTierAdvanced, Overwrite: aws.Bool(true),
			}); err != nil {
				t.Fatalf("step %d: put %s: %v", i, param, err)
			}
		case s.fail:
			proxy.Inject(mototest.Fault{Op: mototest.OpGetParameter, Times: -1, Status: 400,
				Body: `{"__type":"AccessDeniedException","message":"not authorized to perform ssm:GetParameter"}`})
		case s.advance != 0:
			d.call(t, map[string]any{"op": "advance", "seconds": s.advance.Seconds()})
		case s.age:
			ext.clear()
			d.call(t, map[string]any{"op": "age"})
		case s.get != "":
			out := d.call(t, map[string]any{"op": "get", "profile": profile})
			want := tokenFor(s.get, labelSize(s.get))
			sum := sha256.Sum256([]byte(want))
			if !out.OK || out.SHA256 != hex.EncodeToString(sum[:]) || out.Len != len(want) || out.Type != "str" && out.Type != "string" {
				t.Errorf("step %d: get %s = ok %v, kind %q, len %d, type %q; want token %s (len %d)\n%s",
					i, param, out.OK, out.Kind, out.Len, out.Type, s.get, len(want), out.Text)
			}
		case s.wantKind != "":
			out := d.call(t, map[string]any{"op": "get", "profile": profile})
			if out.OK || out.Kind != s.wantKind {
				t.Errorf("step %d: get %s = ok %v (len %d), kind %q; want error of kind %q\n%s",
					i, param, out.OK, out.Len, out.Kind, s.wantKind, out.Text)
			}
			if !out.OK && !strings.Contains(out.Text, param) {
				t.Errorf("step %d: error does not name the parameter %s:\n%s", i, param, out.Text)
			}
		}
	}
	transcript := d.close(t)
	want := c.reads
	if viaExtension && c.extReads != 0 {
		want = c.extReads
	}
	if got := proxy.Count(mototest.OpGetParameter); got != want {
		t.Errorf("GetParameter calls = %d; want %d", got, want)
	}
	for _, s := range secrets {
		var tok struct {
			AccessToken any `json:"access_token"`
		}
		if json.Unmarshal([]byte(s), &tok) == nil {
			if a, ok := tok.AccessToken.(string); ok && a != "" {
				s = a
			} else {
				continue // a record without a token: nothing secret in it
			}
		}
		if piece, found := leakcheck.Find(transcript, s); found {
			t.Errorf("the reader's output or errors contain %q, a piece of a token or raw record", piece)
		}
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
	OK     bool   `json:"ok"`
	SHA256 string `json:"sha256"`
	Len    int    `json:"len"`
	Type   string `json:"type"`
	Kind   string `json:"kind"`
	Text   string `json:"text"`
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

// driverCommand returns a function that builds the command starting r's
// driver with env (the standard AWS environment pointing at the proxy). It
// skips (fails under CI=true) when the runtime or the dependencies
// installed by make readers-deps are missing.
func driverCommand(t *testing.T, root string, r reader, env []string) func() *exec.Cmd {
	t.Helper()
	here := filepath.Join(root, "pkg", "tokenrecord", "readers")
	deps := filepath.Join(root, ".build", "readers")
	var bin, dir string
	var args []string
	switch r.runtime {
	case "python":
		need(t, "python3")
		bin = filepath.Join(deps, "venv", "bin", "python")
		needFile(t, filepath.Join(deps, "venv", ".installed"))
		args, dir = []string{filepath.Join(here, "testdata", "drive.py"), r.arg}, here
	case "node":
		bin = need(t, "node")
		needFile(t, filepath.Join(deps, "node", ".installed"))
		// Node resolves packages from the importing file's folders, so the
		// shipped files run from a folder beside node_modules.
		var err error
		if dir, err = os.MkdirTemp(filepath.Join(deps, "node"), "run-"); err != nil {
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
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(env[:len(env):len(env)], "PATH="+os.Getenv("PATH"), "HOME="+os.Getenv("HOME"),
			"PYTHONPATH="+here, "PYTHONDONTWRITEBYTECODE=1")
		return cmd
	}
}

func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, name+" not found on PATH: the readers' tests need it")
	}
	return p
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

// extension is a loopback stand-in of the AWS Parameters and Secrets
// Lambda Extension's documented HTTP API: GET
// /systemsmanager/parameters/get?name=…&withDecryption=true with the
// header X-Aws-Parameters-Secrets-Token equal to AWS_SESSION_TOKEN,
// answered with GetParameter's JSON, from a cache that holds each value
// until cleared (the real one holds it up to SSM_PARAMETER_STORE_TTL).
type extension struct {
	*httptest.Server
	client *ssm.Client
	mu     sync.Mutex
	cache  map[string][]byte
}

func newExtension(client *ssm.Client) *extension {
	e := &extension{client: client, cache: map[string][]byte{}}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	return e
}

func (e *extension) clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.cache)
}

func (e *extension) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/systemsmanager/parameters/get" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if r.Header.Get("X-Aws-Parameters-Secrets-Token") != "testing" { // AWS_SESSION_TOKEN of mototest.EnvFor
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	name := r.URL.Query().Get("name")
	e.mu.Lock()
	body, ok := e.cache[name]
	e.mu.Unlock()
	if !ok {
		out, err := e.client.GetParameter(r.Context(), &ssm.GetParameterInput{
			Name: aws.String(name), WithDecryption: aws.Bool(r.URL.Query().Get("withDecryption") == "true")})
		var nf *types.ParameterNotFound
		switch {
		case errors.As(err, &nf):
			http.Error(w, "parameter not found", http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "an unexpected error occurred", http.StatusInternalServerError)
			return
		}
		body, _ = json.Marshal(map[string]any{"Parameter": out.Parameter, "ResultMetadata": map[string]any{}})
		e.mu.Lock()
		e.cache[name] = body
		e.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
