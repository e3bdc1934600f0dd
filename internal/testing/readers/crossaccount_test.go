package readers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/orgtest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// The readers that take a reader role (reader_role.py, reader-role.mjs).
var roleReaders = []reader{readers[0], readers[3]} // boto3, sdk-v3

// TestReadersOtherAccount runs the boto3 and SDK v3 readers, on every
// pinned interpreter of their language, as consumers of the workload
// account, in their own region (eu-central-1), reading the platform
// account's records in us-east-1 through the reader role rendered from
// template.yaml (enforced by mototest's proxy: package orgtest); then as
// the outsider, and for a profile the role may not read.
func TestReadersOtherAccount(t *testing.T) {
	root := repoRoot(t)
	srv := mototest.Start(t)
	proxy := srv.Proxy(t)
	seed, _ := srv.Clients(t) // the platform account, not through the proxy
	now := time.Now()
	for _, p := range []string{"aviv-leads", "pliant-production"} {
		put := fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_at":%q,"issued_at":%q,"profile":%q}`,
			tokenFor(p, 48), now.Add(2*hour).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), p)
		if _, err := seed.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(tokenrecord.ParameterName("", p)),
			Value: aws.String(put), Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	org := orgtest.Setup(t, proxy, map[string]string{"CrossAccountReaderAccounts": orgtest.Workload, "CrossAccountReaderProfiles": "aviv-*"})
	workload, outsider := org.MustCredentials(t, orgtest.Workload), org.MustCredentials(t, orgtest.Outsider)
	secrets := []string{tokenFor("aviv-leads", 48), tokenFor("pliant-production", 48),
		workload.SecretAccessKey, workload.SessionToken, outsider.SecretAccessKey, outsider.SessionToken}

	for _, rt := range interps(t, root) {
		for _, r := range roleReaders {
			if r.lang == rt.lang {
				t.Run(r.name+"/"+rt.name, func(t *testing.T) { otherAccount(t, root, proxy, org, r, rt, workload, outsider, secrets) })
			}
		}
	}
}

// otherAccount is TestReadersOtherAccount for one reader on one
// interpreter. The proxy's counts are its own: the subtests do not run in
// parallel.
func otherAccount(t *testing.T, root string, proxy *mototest.Proxy, org orgtest.Org, r reader, rt interp,
	workload, outsider aws.Credentials, secrets []string) {
	start := func(creds aws.Credentials, duration int) *driver {
		env := append(org.Env(creds, "eu-central-1"), "TOKEN_READER_ROLE_ARN="+org.Reader.ARN,
			"TOKEN_REGION="+mototest.Region, fmt.Sprintf("TOKEN_READER_DURATION=%d", duration))
		return startDriver(t, driverCommand(t, root, r, rt, env)())
	}
	counts := func(t *testing.T, wantAssume, wantGet int) {
		t.Helper()
		if a, g := proxy.Count(mototest.OpAssumeRole), proxy.Count(mototest.OpGetParameter); a != wantAssume || g != wantGet {
			t.Errorf("AssumeRole %d, GetParameter %d; want %d and %d", a, g, wantAssume, wantGet)
		}
	}
	var transcript strings.Builder

	t.Run("workload account", func(t *testing.T) {
		d := start(workload, 3600)
		proxy.Reset()
		for range 3 {
			wantToken(t, d.call(t, map[string]any{"op": "get", "profile": "aviv-leads"}), "aviv-leads")
		}
		counts(t, 1, 1)
		d.call(t, map[string]any{"op": "age"}) // the record is read again, with the same session
		wantToken(t, d.call(t, map[string]any{"op": "get", "profile": "aviv-leads"}), "aviv-leads")
		counts(t, 1, 2)
		out := d.call(t, map[string]any{"op": "get", "profile": "pliant-production"})
		if out.OK || out.Kind != "read_failed" || !strings.Contains(out.Text, "AccessDeniedException") {
			t.Errorf("get pliant-production (not aviv-*) = ok %v, kind %q; want read_failed, AccessDeniedException\n%s", out.OK, out.Kind, out.Text)
		}
		transcript.WriteString(d.close(t))
	})
	t.Run("session renewed before it expires", func(t *testing.T) {
		// Python: its clock moves into the last 15 minutes of a 1-hour
		// session. Node (whose SDK's clock cannot move): a session
		// shorter than the SDK's 5-minute window is renewed before
		// every read, one longer is not.
		d := start(workload, 3600)
		if r.lang == "node" {
			d = start(workload, 240)
		}
		proxy.Reset()
		wantToken(t, d.call(t, map[string]any{"op": "get", "profile": "aviv-leads"}), "aviv-leads")
		if r.lang == "python" {
			d.call(t, map[string]any{"op": "advance", "seconds": (46 * time.Minute).Seconds()})
		}
		d.call(t, map[string]any{"op": "age"})
		wantToken(t, d.call(t, map[string]any{"op": "get", "profile": "aviv-leads"}), "aviv-leads")
		if r.lang == "python" {
			counts(t, 2, 2)
		} else if a, g := proxy.Count(mototest.OpAssumeRole), proxy.Count(mototest.OpGetParameter); a < 2 || g != 2 {
			// The SDK asks for the identity more than once per call.
			t.Errorf("AssumeRole %d, GetParameter %d; want at least one AssumeRole per read, and 2 reads", a, g)
		}
		transcript.WriteString(d.close(t))
	})
	t.Run("outsider", func(t *testing.T) {
		d := start(outsider, 3600)
		proxy.Reset()
		out := d.call(t, map[string]any{"op": "get", "profile": "aviv-leads"})
		if out.OK || out.Kind != "read_failed" {
			t.Fatalf("get as %s = ok %v, kind %q; want read_failed", orgtest.Outsider, out.OK, out.Kind)
		}
		for _, want := range []string{org.Reader.ARN, "could not be assumed", "AccessDenied", "CrossAccountReaderAccounts",
			tokenrecord.ParameterName("", "aviv-leads")} {
			if !strings.Contains(out.Text, want) {
				t.Errorf("the outsider's error does not contain %q:\n%s", want, out.Text)
			}
		}
		counts(t, 1, 0)
		transcript.WriteString(d.close(t))
	})
	for _, s := range secrets {
		if piece, found := leakcheck.Find(transcript.String(), s); found {
			t.Errorf("the reader's output or errors contain %q, a piece of a token or credential", piece)
		}
	}
}

// wantToken checks that a get served the labelled token.
func wantToken(t *testing.T, out answer, label string) {
	t.Helper()
	sum := sha256.Sum256([]byte(tokenFor(label, 48)))
	if !out.OK || out.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("get = ok %v, kind %q; want the platform account's %s token\n%s", out.OK, out.Kind, label, out.Text)
	}
}
