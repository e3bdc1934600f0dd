package tokencache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/orgtest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
)

// Consumers in other accounts, against moto with three accounts (package
// orgtest): the rotator's records in the platform account, a consumer in
// a workload account, an outsider. Which check covers what:
//   - that a listed account is served, reading the platform account's
//     records: moto itself (AssumeRole credentials belong to the role's
//     account, so the read is of the platform account's parameters);
//   - that an unlisted account is refused, and that the role reads only
//     GetParameter of the allowed records: mototest's proxy, evaluating
//     the reader role's trust and permission policies as rendered from
//     template.yaml (moto evaluates neither as AWS does);
//   - kms:Decrypt through SSM with a customer managed key, and that the
//     consumer's own role may assume the reader role: the template tests
//     (functions/template_crossaccount_test.go), since moto's SSM does not
//     call KMS and moto keeps no IAM of the workload account.

// records are the platform account's token records: the rotator writes
// them, here straight into moto.
var records = map[string]string{
	"aviv-caas-agency-42": "eyJ-aviv-caas-token-Qm9vbXNoYWthbGFrYQ",
	"aviv-leads":          "eyJ-aviv-leads-token-TWlzc2lzc2lwcGk",
	"pliant-production":   "eyJ-pliant-token-Q2hhdHRhbm9vZ2E",
}

// otherAccount starts moto behind a proxy that enforces the reader role
// template.yaml renders with params, and writes the records.
func otherAccount(t *testing.T, params map[string]string) (orgtest.Org, *mototest.Proxy, time.Time) {
	t.Helper()
	moto := mototest.Start(t)
	proxy := moto.Proxy(t)
	seed, _ := moto.Clients(t) // the rotator's account, not through the proxy
	now := time.Now().UTC().Truncate(time.Second)
	put := func(name, value string) {
		if _, err := seed.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value),
			Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	for p, tok := range records {
		put("/oauth-tokens/"+p, fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_at":%q,"issued_at":%q,"profile":%q}`,
			tok, now.Add(time.Hour).Format(time.RFC3339), now.Format(time.RFC3339), p))
	}
	put("/oauth-tokens/aviv-leads.lock", `{"run":"lease"}`)
	put("/oauth-tokens/.rotator.failures", `{"updated_at":"2026-11-22T10:00:00Z","failing":{}}`)
	return orgtest.Setup(t, proxy, params), proxy, now
}

// readerClient builds a consumer's SSM client as Example_otherAccount
// does, for a principal of account, with the credentials cache's options.
func readerClient(t *testing.T, org orgtest.Org, proxy *mototest.Proxy, account string,
	window time.Duration) (*ssm.Client, *aws.CredentialsCache, aws.Credentials) {
	t.Helper()
	own := org.MustCredentials(t, account)
	cfg, err := mototest.ConfigFor(context.Background(), proxy.URL, func(o *config.LoadOptions) error {
		o.Region = "eu-central-1" // the consumer's region; the rotator's is mototest.Region
		o.Credentials = credentials.StaticCredentialsProvider{Value: own}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), org.Reader.ARN,
		func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "tokencache-test"
			o.Duration = 15 * time.Minute
		}),
		func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = window })
	client := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.Credentials = creds; o.Region = mototest.Region })
	return client, creds, own
}

// TestExampleOtherAccount runs Example_otherAccount as a consumer of the
// workload account (its own region eu-central-1, the records in us-east-1),
// then as the outsider.
func TestExampleOtherAccount(t *testing.T) {
	org, proxy, _ := otherAccount(t, map[string]string{"CrossAccountReaderAccounts": orgtest.Workload})
	run := func(account, tokenRegion string) string {
		t.Helper()
		for _, kv := range org.Env(org.MustCredentials(t, account), "eu-central-1") {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		t.Setenv("AWS_CONFIG_FILE", os.DevNull)
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
		t.Setenv("TOKEN_READER_ROLE_ARN", org.Reader.ARN)
		t.Setenv("TOKEN_REGION", tokenRegion)
		proxy.Reset()
		return stdoutOf(t, Example_otherAccount)
	}

	if got, want := run(orgtest.Workload, mototest.Region), fmt.Sprintf("a token of %d bytes\n", len(records["aviv-caas-agency-42"])); got != want {
		t.Errorf("Example_otherAccount in %s printed %q; want %q", orgtest.Workload, got, want)
	}
	if a, g := proxy.Count(mototest.OpAssumeRole), proxy.Count(mototest.OpGetParameter); a != 1 || g != 1 {
		t.Errorf("AssumeRole %d, GetParameter %d; want 1 and 1", a, g)
	}

	// Without TOKEN_REGION the client reads in its own region, which the
	// role's policy does not cover (and where the rotator wrote nothing).
	if got := run(orgtest.Workload, ""); !strings.Contains(got, "may not read this record: read it in the rotator's region") ||
		!strings.Contains(got, "arn:aws:ssm:eu-central-1:") {
		t.Errorf("Example_otherAccount without TOKEN_REGION printed %q; want a refusal that names the region to read in", got)
	}

	got := run(orgtest.Outsider, mototest.Region)
	for _, want := range []string{`profile "aviv-caas-agency-42"`, "through role " + org.Reader.ARN, "could not be assumed",
		"CrossAccountReaderAccounts", "not authorized to perform: sts:AssumeRole"} {
		if !strings.Contains(got, want) {
			t.Errorf("Example_otherAccount in %s printed %q; want it to contain %q", orgtest.Outsider, got, want)
		}
	}
	if n := proxy.Count(mototest.OpGetParameter); n != 0 {
		t.Errorf("the outsider made %d GetParameter calls; want none", n)
	}
}

// stdoutOf runs f and returns what it printed on os.Stdout.
func stdoutOf(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	var out bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = io.Copy(&out, r) }()
	f()
	os.Stdout = old
	w.Close()
	wg.Wait()
	return out.String()
}

// TestOtherAccountCredentialsCached: one AssumeRole serves every read
// while the role's credentials are outside the cache's expiry window;
// with a window as long as the session, every read assumes the role again
// first, so a read never uses credentials inside the window. (The SDK's
// credentials cache has no clock a test can move: the window is what
// moves.)
func TestOtherAccountCredentialsCached(t *testing.T) {
	org, proxy, now := otherAccount(t, map[string]string{"CrossAccountReaderAccounts": orgtest.Workload})
	for _, c := range []struct {
		name    string
		window  time.Duration
		assumes int
	}{
		{"a minute's window: assumed once", time.Minute, 1},
		{"the session's whole lifetime: assumed before every read", 15 * time.Minute, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			client, _, _ := readerClient(t, org, proxy, orgtest.Workload, c.window)
			clock := now
			cache := tokencache.New(client, tokencache.Config{RoleARN: org.Reader.ARN, Now: func() time.Time { return clock }})
			proxy.Reset()
			for range 3 {
				for _, p := range []string{"aviv-caas-agency-42", "pliant-production"} {
					tok, err := cache.Source(p).Token(context.Background())
					if err != nil || tok != records[p] {
						t.Fatalf("Token(%q) = %q, %v; want the platform account's token", p, tok, err)
					}
				}
				clock = clock.Add(tokencache.DefaultMaxAge) // every record is read again
			}
			if a, g := proxy.Count(mototest.OpAssumeRole), proxy.Count(mototest.OpGetParameter); a != c.assumes || g != 6 {
				t.Errorf("AssumeRole %d, GetParameter %d; want %d and 6", a, g, c.assumes)
			}
		})
	}
}

// TestOtherAccountRefused: who may read what, as the rendered template says.
func TestOtherAccountRefused(t *testing.T) {
	cases := []struct {
		name     string
		params   map[string]string
		account  string
		profile  string
		want     []string // in the error; nil: served
		assumeOK bool
	}{
		{"listed account", map[string]string{"CrossAccountReaderAccounts": orgtest.Workload}, orgtest.Workload, "pliant-production", nil, true},
		{"unlisted account", map[string]string{"CrossAccountReaderAccounts": orgtest.Workload}, orgtest.Outsider, "aviv-leads",
			[]string{"could not be assumed", "CrossAccountReaderAccounts", "sts:AssumeRole on " + "arn:aws:iam::"}, false},
		{"the organization", map[string]string{"CrossAccountReaderOrgId": orgtest.OrgID}, orgtest.Workload, "aviv-leads", nil, true},
		{"another organization", map[string]string{"CrossAccountReaderOrgId": orgtest.OrgID}, orgtest.Outsider, "aviv-leads",
			[]string{"could not be assumed", "CrossAccountReaderOrgId"}, false},
		{"an OU of the organization", map[string]string{"CrossAccountReaderOrgPaths": orgtest.WorkloadPath + "*"}, orgtest.Workload, "aviv-leads", nil, true},
		{"outside the OU", map[string]string{"CrossAccountReaderOrgPaths": orgtest.WorkloadPath + "*"}, orgtest.Platform, "aviv-leads",
			[]string{"could not be assumed", "CrossAccountReaderOrgPaths"}, false},
		{"an allowed profile", map[string]string{"CrossAccountReaderAccounts": orgtest.Workload, "CrossAccountReaderProfiles": "aviv-*"},
			orgtest.Workload, "aviv-caas-agency-42", nil, true},
		{"a profile the role may not read", map[string]string{"CrossAccountReaderAccounts": orgtest.Workload, "CrossAccountReaderProfiles": "aviv-*"},
			orgtest.Workload, "pliant-production", []string{"may not read this record", "CrossAccountReaderProfiles", "AccessDeniedException", "arn:aws:ssm:us-east-1:"}, true},
	}
	_, proxy, _ := otherAccount(t, cases[0].params)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			org := orgtest.Setup(t, proxy, c.params) // the same role, now with c.params
			client, _, _ := readerClient(t, org, proxy, c.account, time.Minute)
			proxy.Reset()
			tok, err := tokencache.New(client, tokencache.Config{RoleARN: org.Reader.ARN}).Source(c.profile).Token(context.Background())
			if c.want == nil {
				if err != nil || tok != records[c.profile] {
					t.Fatalf("Token(%q) from %s = %q, %v; want the platform account's token", c.profile, c.account, tok, err)
				}
				return
			}
			var te *tokencache.Error
			if !errors.As(err, &te) || !errors.Is(err, tokencache.ErrReadFailed) || te.Role != org.Reader.ARN {
				t.Fatalf("Token(%q) from %s = %q, %v; want an *Error of ErrReadFailed naming the role", c.profile, c.account, tok, err)
			}
			for _, w := range append(c.want, `profile "`+c.profile+`"`, org.Reader.ARN) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if got := proxy.Count(mototest.OpGetParameter) > 0; got != c.assumeOK {
				t.Errorf("GetParameter reached SSM: %v; want %v", got, c.assumeOK)
			}
		})
	}
}

// TestOtherAccountReadsNothingElse: the reader role's session may call
// GetParameter on the records, and nothing else: not a lease, not the
// rotator's failure record (both under the prefix that ReaderProfiles "*"
// matches), not GetParameters, not GetParametersByPath, not PutParameter.
func TestOtherAccountReadsNothingElse(t *testing.T) {
	org, proxy, _ := otherAccount(t, map[string]string{"CrossAccountReaderAccounts": orgtest.Workload})
	client, _, _ := readerClient(t, org, proxy, orgtest.Workload, time.Minute)
	ctx := context.Background()
	calls := map[string]func() error{
		"GetParameter of a lease": func() error {
			_, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/oauth-tokens/aviv-leads.lock")})
			return err
		},
		"GetParameter of the failure record": func() error {
			_, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/oauth-tokens/.rotator.failures")})
			return err
		},
		"GetParameters": func() error {
			_, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/oauth-tokens/aviv-leads"}, WithDecryption: aws.Bool(true)})
			return err
		},
		"GetParametersByPath": func() error {
			_, err := client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/oauth-tokens"), WithDecryption: aws.Bool(true)})
			return err
		},
		"PutParameter": func() error {
			_, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/oauth-tokens/aviv-leads"), Value: aws.String("x"),
				Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true)})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
			t.Errorf("%s through the reader role = %v; want AccessDeniedException", name, err)
		}
	}
	if _, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/oauth-tokens/aviv-leads"), WithDecryption: aws.Bool(true)}); err != nil {
		t.Errorf("GetParameter of a record through the reader role = %v; want it served", err)
	}
}

// TestOtherAccountNoCredentialsLogged: no piece of the consumer's own
// credentials or of the reader role's session credentials is in any log
// line or error, through a read, a refusal and a failing read served from
// the cache.
func TestOtherAccountNoCredentialsLogged(t *testing.T) {
	org, proxy, now := otherAccount(t, map[string]string{"CrossAccountReaderAccounts": orgtest.Workload, "CrossAccountReaderProfiles": "aviv-*"})
	client, creds, own := readerClient(t, org, proxy, orgtest.Workload, time.Minute)
	var logs bytes.Buffer
	clock := now
	cache := tokencache.New(client, tokencache.Config{RoleARN: org.Reader.ARN, Now: func() time.Time { return clock },
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := context.Background()
	var texts []string
	if _, err := cache.Source("aviv-leads").Token(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := cache.Source("pliant-production").Token(ctx)
	texts = append(texts, fmt.Sprint(err), fmt.Sprintf("%+v", err))
	proxy.Inject(mototest.Fault{Op: mototest.OpGetParameter, Times: -1, Status: 400,
		Body: `{"__type":"AccessDeniedException","message":"not authorized"}`})
	clock = clock.Add(tokencache.DefaultMaxAge)
	if _, err := cache.Source("aviv-leads").Token(ctx); err != nil {
		t.Fatalf("a failing read with a valid cached token = %v; want the cached token", err)
	}
	session, err := creds.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(append(texts, logs.String()), "\n")
	if !strings.Contains(logs.String(), org.Reader.ARN) {
		t.Errorf("the warning does not name the role: %s", logs.String())
	}
	for _, secret := range []string{own.SecretAccessKey, own.SessionToken, session.SecretAccessKey, session.SessionToken} {
		if piece, found := leakcheck.Find(all, secret); found {
			t.Errorf("logs or errors contain %q, a piece of a credential:\n%s", piece, all)
		}
	}
}
