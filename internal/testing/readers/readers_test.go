package readers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// A reader under test: its language, its driver's argument
// (testdata/drive.py or testdata/drive.mjs) and whether it goes through the
// Extension stand-in.
type reader struct {
	name      string
	lang      string // "python" or "node"
	arg       string
	extension bool
}

var readers = []reader{
	{name: "boto3", lang: "python", arg: "boto3"},
	{name: "powertools-python", lang: "python", arg: "powertools"},
	{name: "extension", lang: "python", arg: "extension", extension: true},
	{name: "sdk-v3", lang: "node", arg: "sdk"},
	{name: "powertools-typescript", lang: "node", arg: "powertools"},
}

// TestReaders runs every reader on every pinned interpreter of its
// language (the oldest and the newest tested) through each case, and
// through every form of record, against moto.
func TestReaders(t *testing.T) {
	root := repoRoot(t)
	srv := mototest.Start(t)
	seed, _ := srv.Clients(t) // writes go to moto directly, so each proxy counts only its reader's reads
	for _, rt := range interps(t, root) {
		for _, r := range readers {
			if r.lang != rt.lang {
				continue
			}
			t.Run(r.name+"/"+rt.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, srv, seed)
				cmd := driverCommand(t, root, r, rt, w.env)
				d := startDriver(t, cmd())
				if v := d.call(t, map[string]any{"op": "version"}).Version; !strings.HasPrefix(v, rt.version) {
					t.Fatalf("%s reports version %q; want %s*", rt.bin, v, rt.version)
				} else {
					t.Logf("%s %s", rt.name, v)
				}
				prefix := fmt.Sprintf("%s/%s-%s-", tokenrecord.DefaultPrefix, strings.ReplaceAll(r.name, "-", ""), strings.ReplaceAll(rt.name, ".", ""))
				t.Run("forms", func(t *testing.T) { w.runForms(t, d, prefix+"form", r.extension) })
				t.Run("profile names", func(t *testing.T) { w.runNames(t, startDriver(t, cmd())) })
				for i, c := range cases(time.Now()) {
					t.Run(c.name, func(t *testing.T) {
						w.runCase(t, startDriver(t, cmd()), fmt.Sprintf("%s%d", prefix, i), c, r.extension)
					})
				}
			})
		}
	}
}

// world is what a reader's cases act on besides the reader: moto behind a
// counting proxy of the reader's own, and an Extension stand-in reading
// through that proxy.
type world struct {
	ext   *extension
	proxy *mototest.Proxy
	seed  *ssm.Client
	env   []string // the reader's environment: AWS pointed at the proxy, the Extension's port
}

func newWorld(t *testing.T, srv *mototest.Server, seed *ssm.Client) world {
	t.Helper()
	proxy := srv.Proxy(t)
	cfg, err := mototest.ConfigFor(context.Background(), proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	ext := newExtension(ssm.NewFromConfig(cfg))
	t.Cleanup(ext.Close)
	return world{ext: ext, proxy: proxy, seed: seed, env: append(mototest.EnvFor(proxy.URL),
		"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="+strings.TrimPrefix(ext.URL, "http://127.0.0.1:"))}
}

func (w world) put(t *testing.T, param, value string) {
	t.Helper()
	if _, err := w.seed.PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(param), Value: aws.String(value), Type: types.ParameterTypeSecureString,
		Tier: types.ParameterTierAdvanced, Overwrite: aws.Bool(true),
	}); err != nil {
		t.Fatalf("put %s: %v", param, err)
	}
}

// get asks d for param's token and checks the answer: the token labelled
// want (by hash and length), or an error of kind wantKind naming param.
func get(t *testing.T, d *driver, param string, want string, wantKind string) {
	t.Helper()
	out := d.call(t, map[string]any{"op": "get", "profile": profileOf(param)})
	if wantKind != "" {
		if out.OK || out.Kind != wantKind {
			t.Errorf("get %s = ok %v (len %d), kind %q; want error of kind %q\n%s", param, out.OK, out.Len, out.Kind, wantKind, out.Text)
		}
		if !out.OK && !strings.Contains(out.Text, param) {
			t.Errorf("get %s: error does not name the parameter:\n%s", param, out.Text)
		}
		return
	}
	sum := sha256.Sum256([]byte(want))
	if !out.OK || out.SHA256 != hex.EncodeToString(sum[:]) || out.Len != len(want) || out.Type != "str" && out.Type != "string" {
		t.Errorf("get %s = ok %v, kind %q, len %d, type %q; want the token (len %d)\n%s",
			param, out.OK, out.Kind, out.Len, out.Type, len(want), out.Text)
	}
}

func profileOf(param string) string { return strings.TrimPrefix(param, tokenrecord.DefaultPrefix+"/") }

func (w world) runCase(t *testing.T, d *driver, param string, c readerCase, viaExtension bool) {
	w.proxy.Clear()
	w.ext.clear()
	t.Cleanup(w.proxy.Clear)
	var secrets []string
	w.proxy.Reset()
	for i, s := range c.steps {
		switch {
		case s.put != "":
			v := strings.ReplaceAll(s.put, profileMark, profileOf(param))
			secrets = append(secrets, v)
			w.put(t, param, v)
		case s.fail:
			w.proxy.Inject(mototest.Fault{Op: mototest.OpGetParameter, Times: -1, Status: 400,
				Body: `{"__type":"AccessDeniedException","message":"not authorized to perform ssm:GetParameter"}`})
		case s.advance != 0:
			d.call(t, map[string]any{"op": "advance", "seconds": s.advance.Seconds()})
		case s.age:
			w.ext.clear()
			d.call(t, map[string]any{"op": "age"})
		case s.get != "":
			t.Logf("step %d: get", i)
			get(t, d, param, tokenFor(s.get, labelSize(s.get)), "")
		case s.wantKind != "":
			t.Logf("step %d: get, want %s", i, s.wantKind)
			get(t, d, param, "", s.wantKind)
		}
	}
	transcript := d.close(t)
	want := c.reads
	if viaExtension && c.extReads != 0 {
		want = c.extReads
	}
	if got := w.proxy.Count(mototest.OpGetParameter); got != want {
		t.Errorf("GetParameter calls = %d; want %d", got, want)
	}
	checkNoLeak(t, transcript, secrets)
}

// runForms puts each form under a parameter of its own and reads it once
// with d: the reader must serve it, or refuse it with the kind of error,
// as the Go reader does, after one GetParameter call (two through the
// Extension when it refuses it).
func (w world) runForms(t *testing.T, d *driver, prefix string, viaExtension bool) {
	w.proxy.Clear()
	now := time.Now()
	var secrets []string
	for i, f := range forms(now) {
		param := fmt.Sprintf("%s%d", prefix, i)
		served, kind := f.want(profileOf(param), now)
		w.put(t, param, strings.ReplaceAll(f.value, profileMark, profileOf(param)))
		secrets = append(secrets, f.token) // not f.value: a form need not be JSON, which checkNoLeak takes the token from
		w.proxy.Reset()
		t.Logf("form %q: served %v, kind %q", f.name, served, kind)
		if served {
			get(t, d, param, f.token, "")
		} else {
			get(t, d, param, "", kind)
		}
		want := 1
		if viaExtension && !served {
			want = 2
		}
		if got := w.proxy.Count(mototest.OpGetParameter); got != want {
			t.Errorf("form %q: GetParameter calls = %d; want %d", f.name, got, want)
		}
	}
	checkNoLeak(t, d.close(t), secrets)
}

// checkNoLeak fails when transcript holds an 8-byte piece of any record's
// access_token, or of a value that is not a record.
func checkNoLeak(t *testing.T, transcript string, values []string) {
	t.Helper()
	for _, s := range values {
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

// profileNames are names at the edges of the profile-name rule
// (tokenrecord.CheckProfileName), which every reader applies.
var profileNames = []string{
	"valid-name_1.x", "lease.lock", ".lock", "a.lock.b", "x.LOCK", strings.Repeat("a", 128), strings.Repeat("a", 129),
	"", "bad/name", "bad name", "name\n", "na\u00efve",
}

// runNames asks d for the token of each of profileNames, none stored: a
// name the Go rule accepts is read (not_found); one it refuses is refused
// (invalid_profile) without a GetParameter call.
func (w world) runNames(t *testing.T, d *driver) {
	w.proxy.Clear()
	for _, name := range profileNames {
		w.proxy.Reset()
		out := d.call(t, map[string]any{"op": "get", "profile": name})
		reads := w.proxy.Count(mototest.OpGetParameter)
		if err := tokenrecord.CheckProfileName(name); err != nil {
			if out.OK || out.Kind != "invalid_profile" || reads != 0 {
				t.Errorf("get profile %q = ok %v, kind %q after %d GetParameter calls; want kind invalid_profile and no call (Go: the name %v)\n%s",
					name, out.OK, out.Kind, reads, err, out.Text)
			}
			continue
		}
		if out.OK || out.Kind != "not_found" || reads == 0 {
			t.Errorf("get profile %q = ok %v, kind %q after %d GetParameter calls; want not_found (Go accepts the name)\n%s", name, out.OK, out.Kind, reads, out.Text)
		}
	}
	d.close(t)
}
