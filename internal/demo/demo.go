// Package demo runs the whole system on one machine, with no AWS account and
// no Docker: moto_server stands in for Secrets Manager and SSM, package
// oauthtest for the four providers' token endpoints and a partner API, and
// the real rotator and consumer bootstrap binaries run under the Lambda
// Runtime API of package lambdatest.
//
// Run prints a short report as it goes and returns the figures, so the same
// flow is both `make demo` and an end-to-end test. Every process it starts
// is stopped when it returns, including when ctx is cancelled (Ctrl-C).
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// Options configure a run. The zero value works from the module root.
type Options struct {
	// Out receives the report; nil means os.Stdout.
	Out io.Writer
	// Root is the module root (where functions/ lives); empty means the
	// current directory.
	Root string
	// ConsumerInvocations is how many warm invocations the consumer gets
	// (default 10).
	ConsumerInvocations int
	// ConsumerProfile is the profile the consumer uses (default
	// aviv-caas-sandbox-agency-42).
	ConsumerProfile string
}

// RunFigures are one rotator invocation's figures.
type RunFigures struct {
	Refreshed, Skipped, Failed int
	TokenRequests              int
	SecretReads                int
	ParameterReads             int // GetParameters calls
	ParameterWrites            int // PutParameter calls (records and leases)
}

// Report is what a demo run measured.
type Report struct {
	Profiles    int
	Secrets     int
	FirstRun    RunFigures
	SecondRun   RunFigures
	Consumer    ConsumerFigures
	Revocation  RevocationFigures
	LogLines    int
	Leaks       int
	BuildTime   time.Duration
	Elapsed     time.Duration
	RotatorInit time.Duration
}

// ConsumerFigures are the consumer's warm invocations.
type ConsumerFigures struct {
	Invocations   int
	OK            int // answers with status 200
	SSMReads      int // GetParameter calls
	TokenRequests int
}

// RevocationFigures: the provider revokes the token the consumer holds,
// the rotator is forced, and the consumer's next call meets one 401.
type RevocationFigures struct {
	Status        int // the consumer's answer
	APICalls      int // calls the partner API saw (401 then 200)
	SSMReads      int
	TokenRequests int // the forced refresh
}

// secrets seeded into moto and registered with the fake providers.
var secrets = []struct{ id, clientID, secret string }{
	{"oauth-clients/aviv-sandbox", "demo-aviv-client", "Sx7Qp2Lm9Vb4Nc8Rd1Ke"},
	{"oauth-clients/pliant-staging", "demo-pliant-client", "Kd3Wr8Zn1Hy6Pg0Ta5Mu"},
	{"oauth-clients/partner-sandbox", "demo-partner-client", "Tf5Jc0Ue7Ga2Xb9Lw4Oq"},
}

// Run performs the demo. It fails if anything the report claims is not so.
func Run(ctx context.Context, opts Options) (rep Report, err error) {
	start := time.Now()
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	if opts.ConsumerInvocations <= 0 {
		opts.ConsumerInvocations = 10
	}
	if opts.ConsumerProfile == "" {
		opts.ConsumerProfile = "aviv-caas-sandbox-agency-42"
	}
	root := opts.Root
	if root == "" {
		root = "."
	}
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	say("oauth-token-rotator demo: moto_server for AWS, local token endpoints, the real Lambda binaries")
	work, err := os.MkdirTemp("", "oauth-token-rotator-demo-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(work)

	// 1. Build the two functions with the Makefile's flags (for this host).
	t0 := time.Now()
	rotatorBin := filepath.Join(work, "rotator", "bootstrap")
	consumerBin := filepath.Join(work, "consumer", "bootstrap")
	for _, b := range []struct{ pkg, out string }{{"./functions/rotator", rotatorBin}, {"./functions/consumer", consumerBin}} {
		if err := lambdatest.BuildBinary(ctx, b.pkg, b.out); err != nil {
			return rep, fmt.Errorf("demo: build %s: %w", b.pkg, err)
		}
	}
	rep.BuildTime = time.Since(t0)
	say("[1/6] built rotator and consumer bootstraps (-tags lambda.norpc -trimpath -ldflags=-s -w) in %s", rep.BuildTime.Round(100*time.Millisecond))

	// 2. Local AWS and providers.
	moto, err := mototest.Launch(ctx)
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	defer moto.Close()
	proxy := mototest.NewProxy(moto.URL)
	defer proxy.Close()
	idp := oauthtest.NewServer()
	defer idp.Close()
	say("[2/6] moto_server at %s (behind a call-counting proxy); token endpoints for AVIV leads, AVIV CaaS, Pliant and the partner API at %s", moto.URL, idp.URL)

	// 3. Secrets and the sample profiles pointed at the local endpoints.
	for _, s := range secrets {
		idp.AddClient(s.clientID, s.secret)
		if err := moto.PutClientSecret(ctx, s.id, s.clientID, s.secret); err != nil {
			return rep, fmt.Errorf("demo: %w", err)
		}
	}
	rep.Secrets = len(secrets)
	sample := filepath.Join(root, "functions", "rotator", "profiles", "sandbox.yaml")
	doc, err := os.ReadFile(sample)
	if err != nil {
		return rep, fmt.Errorf("demo: read sample profiles: %w", err)
	}
	local, err := idp.Localize(doc)
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	taskRoot := filepath.Dir(rotatorBin)
	if err := os.MkdirAll(filepath.Join(taskRoot, "profiles"), 0o755); err != nil {
		return rep, err
	}
	if err := os.WriteFile(filepath.Join(taskRoot, "profiles", "sandbox.yaml"), local, 0o600); err != nil {
		return rep, err
	}
	ps, err := profile.Parse(local, profile.Options{})
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	rep.Profiles = len(ps)
	say("[3/6] seeded %d secrets in Secrets Manager; %s with token_url pointed at the local endpoints", rep.Secrets, sample)

	awsEnv := mototest.EnvFor(proxy.URL)
	defer func() {
		if err == nil {
			rep.Elapsed = time.Since(start)
		}
	}()

	// 4. The rotator: two scheduled runs in one warm process.
	rotator, err := lambdatest.Launch(ctx, rotatorBin, append(awsEnv, "PROFILES_FILE=profiles/sandbox.yaml", "ENVIRONMENT=demo"),
		lambdatest.WithFunctionName("oauth-token-rotator-demo-rotator"), lambdatest.WithTaskRoot(taskRoot), lambdatest.WithTimeout(60*time.Second))
	if err != nil {
		return rep, fmt.Errorf("demo: start rotator: %w", err)
	}
	defer rotator.Close()
	scheduled, err := os.ReadFile(filepath.Join(root, "events", "scheduled.json"))
	if err != nil {
		return rep, err
	}
	runRotator := func(payload []byte) (RunFigures, error) {
		proxy.Reset()
		before := idp.RequestCount()
		res, err := rotator.Invoke(ctx, payload)
		if err != nil {
			return RunFigures{}, fmt.Errorf("demo: rotator: %w", err)
		}
		if res.Err != nil {
			return RunFigures{}, fmt.Errorf("demo: rotator answered an error: %s", res.Err.ErrorMessage)
		}
		var sum rotate.Summary
		if err := json.Unmarshal(res.Payload, &sum); err != nil {
			return RunFigures{}, fmt.Errorf("demo: rotator answer: %w", err)
		}
		c := proxy.Counts()
		return RunFigures{
			Refreshed: len(sum.Refreshed), Skipped: len(sum.Skipped), Failed: len(sum.Failed),
			TokenRequests: idp.RequestCount() - before, SecretReads: c[mototest.OpGetSecretValue],
			ParameterReads: c[mototest.OpGetParameters], ParameterWrites: c[mototest.OpPutParameter],
		}, nil
	}
	if rep.FirstRun, err = runRotator(scheduled); err != nil {
		return rep, err
	}
	rep.RotatorInit = rotator.InitDuration()
	if rep.SecondRun, err = runRotator(scheduled); err != nil {
		return rep, err
	}
	say("[4/6] rotator, scheduled run 1: %s", rep.FirstRun)
	say("      rotator, scheduled run 2: %s", rep.SecondRun)

	// 5. The consumer: warm invocations read the parameter once.
	consumer, err := lambdatest.Launch(ctx, consumerBin, append(awsEnv,
		"PROFILE="+opts.ConsumerProfile, "API_BASE_URL="+idp.APIURL(), "ENVIRONMENT=demo"),
		lambdatest.WithFunctionName("oauth-token-rotator-demo-consumer"))
	if err != nil {
		return rep, fmt.Errorf("demo: start consumer: %w", err)
	}
	defer consumer.Close()
	event, err := os.ReadFile(filepath.Join(root, "events", "consumer.json"))
	if err != nil {
		return rep, err
	}
	callConsumer := func() (int, error) {
		res, err := consumer.Invoke(ctx, event)
		if err != nil {
			return 0, fmt.Errorf("demo: consumer: %w", err)
		}
		if res.Err != nil {
			return 0, fmt.Errorf("demo: consumer answered an error: %s", res.Err.ErrorMessage)
		}
		var ans struct {
			Status int `json:"status"`
		}
		if err := json.Unmarshal(res.Payload, &ans); err != nil {
			return 0, fmt.Errorf("demo: consumer answer: %w", err)
		}
		return ans.Status, nil
	}
	proxy.Reset()
	tokensBefore := idp.RequestCount()
	for i := 0; i < opts.ConsumerInvocations; i++ {
		status, err := callConsumer()
		if err != nil {
			return rep, err
		}
		rep.Consumer.Invocations++
		if status == 200 {
			rep.Consumer.OK++
		}
	}
	rep.Consumer.SSMReads = proxy.Count(mototest.OpGetParameter)
	rep.Consumer.TokenRequests = idp.RequestCount() - tokensBefore
	say("[5/6] consumer (profile %s), %d warm invocations: %d answered 200 | SSM GetParameter %d | token requests %d",
		opts.ConsumerProfile, rep.Consumer.Invocations, rep.Consumer.OK, rep.Consumer.SSMReads, rep.Consumer.TokenRequests)

	// 6. The provider revokes the token: force a refresh; the consumer's
	// next call meets one 401, re-reads once and succeeds.
	held, err := storedToken(ctx, proxy.URL, tokenrecord.ParameterName("", opts.ConsumerProfile))
	if err != nil {
		return rep, err
	}
	force, _ := json.Marshal(rotate.Request{Force: true, Profiles: []string{opts.ConsumerProfile}})
	tokensBefore = idp.RequestCount()
	if _, err := runRotator(force); err != nil {
		return rep, err
	}
	idp.Revoke(held)
	proxy.Reset()
	apiBefore := idp.APICalls()
	if rep.Revocation.Status, err = callConsumer(); err != nil {
		return rep, err
	}
	rep.Revocation.APICalls = idp.APICalls() - apiBefore
	rep.Revocation.SSMReads = proxy.Count(mototest.OpGetParameter)
	rep.Revocation.TokenRequests = idp.RequestCount() - tokensBefore
	say("[6/6] provider revoked the consumer's token; forced rotator run made %d token request(s); consumer: %d partner-API calls (401, then retry), %d SSM read, answer %d",
		rep.Revocation.TokenRequests, rep.Revocation.APICalls, rep.Revocation.SSMReads, rep.Revocation.Status)

	// Every log line of both processes, scanned for secrets and tokens.
	rotator.Close()
	consumer.Close()
	logLines := append(rotator.Logs(), consumer.Logs()...)
	rep.LogLines = len(logLines)
	known := make([]string, 0, len(secrets))
	for _, s := range secrets {
		known = append(known, s.secret)
	}
	for _, i := range idp.IssuedTokens() {
		known = append(known, i.Token)
	}
	for _, l := range logLines {
		if piece, found := leakcheck.Find(l, known...); found {
			rep.Leaks++
			say("      LEAK (%q): %s", piece, l)
		}
	}
	say("      %d log lines from the two functions; %d contain any 8-character piece of a client secret or token", rep.LogLines, rep.Leaks)

	if err := rep.check(); err != nil {
		return rep, err
	}
	say("")
	say("OK: one token request per profile, none on the second run; %d consumer invocations read SSM once and requested no token; a revoked token was replaced after one 401 (%.1fs in all).",
		rep.Consumer.Invocations, time.Since(start).Seconds())
	return rep, nil
}

func (f RunFigures) String() string {
	return fmt.Sprintf("refreshed %d, skipped %d, failed %d | token requests %d | secret reads %d | SSM GetParameters %d, PutParameter %d",
		f.Refreshed, f.Skipped, f.Failed, f.TokenRequests, f.SecretReads, f.ParameterReads, f.ParameterWrites)
}

// check verifies the claims the report makes.
func (r Report) check() error {
	var errs []error
	want := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	want(r.FirstRun.Refreshed == r.Profiles && r.FirstRun.TokenRequests == r.Profiles && r.FirstRun.Failed == 0,
		"first run: %s; want every one of %d profiles refreshed with one token request each", r.FirstRun, r.Profiles)
	want(r.FirstRun.SecretReads == r.Secrets, "first run read %d secrets; want each of %d once", r.FirstRun.SecretReads, r.Secrets)
	want(r.SecondRun.Skipped == r.Profiles && r.SecondRun.TokenRequests == 0 && r.SecondRun.SecretReads == 0,
		"second run: %s; want everything skipped with no token request and no secret read", r.SecondRun)
	want(r.Consumer.OK == r.Consumer.Invocations && r.Consumer.SSMReads == 1 && r.Consumer.TokenRequests == 0,
		"consumer: %+v; want every answer 200 from one SSM read and no token request", r.Consumer)
	want(r.Revocation.Status == 200 && r.Revocation.APICalls == 2 && r.Revocation.SSMReads == 1 && r.Revocation.TokenRequests == 1,
		"revocation: %+v; want 200 after one 401 and one re-read, from one forced token request", r.Revocation)
	want(r.Leaks == 0, "%d log lines contain a piece of a secret or token", r.Leaks)
	return errors.Join(errs...)
}

// storedToken reads a record straight from SSM.
func storedToken(ctx context.Context, endpoint, name string) (string, error) {
	cfg, err := mototest.ConfigFor(ctx, endpoint)
	if err != nil {
		return "", err
	}
	out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("demo: read %s: %w", name, err)
	}
	rec, err := tokenrecord.Parse([]byte(aws.ToString(out.Parameter.Value)))
	if err != nil {
		return "", fmt.Errorf("demo: %s: %w", name, err)
	}
	return rec.AccessToken, nil
}
