package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    rotate.Request
		wantErr string
	}{
		{"scheduled event file", string(readFile(t, "../../events/scheduled.json")), rotate.Request{}, ""},
		{"force event file", string(readFile(t, "../../events/force.json")), rotate.Request{Force: true, Profiles: []string{"aviv-caas-sandbox-agency-42"}}, ""},
		{"empty", "", rotate.Request{}, ""},
		{"empty object", "{}", rotate.Request{}, ""},
		{"force all", `{"force":true}`, rotate.Request{Force: true}, ""},
		{"check credentials", `{"check_credentials":true}`, rotate.Request{CheckCredentials: true}, ""},
		{"unknown field", `{"forse":true}`, rotate.Request{}, "unrecognised event"},
		{"not an object", `[1]`, rotate.Request{}, "not a JSON object"},
		{"other eventbridge event", `{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`, rotate.Request{}, "unexpected EventBridge event"},
		{"scheduled event from another source", `{"detail-type":"Scheduled Event","source":"evil.app","detail":{}}`, rotate.Request{}, "unexpected EventBridge event"},
		{"aws.events event of another type", `{"detail-type":"Object Created","source":"aws.events","detail":{}}`, rotate.Request{}, "unexpected EventBridge event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEvent(json.RawMessage(tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseEvent(%s) = %v; want error containing %q", tt.payload, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Force != tt.want.Force || strings.Join(got.Profiles, ",") != strings.Join(tt.want.Profiles, ",") || got.CheckCredentials != tt.want.CheckCredentials {
				t.Fatalf("parseEvent(%s) = %+v, %v; want %+v", tt.payload, got, err, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := loadConfig(get(map[string]string{"PROFILES_FILE": "profiles/sandbox.yaml", "LAMBDA_TASK_ROOT": "/var/task"}))
	if err != nil || cfg.ProfilesFile != "/var/task/profiles/sandbox.yaml" || cfg.Prefix != "/oauth-tokens" || cfg.Namespace != "OAuthTokenRotator" {
		t.Errorf("loadConfig = %+v, %v; want task-root path and defaults", cfg, err)
	}
	_, err = loadConfig(get(map[string]string{"ROTATOR_CONCURRENCY": "0", "LOG_LEVEL": "loud"}))
	for _, w := range []string{"PROFILES_FILE", "ROTATOR_CONCURRENCY", "LOG_LEVEL"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("loadConfig error = %v; want it to name %s", err, w)
		}
	}
}

func TestLoadConfigQuota(t *testing.T) {
	for _, tt := range []struct {
		name, rate, schedule string
		wantRate             float64
		wantInterval         time.Duration
		wantErr              string
	}{
		{name: "defaults (the rotator's own)"},
		{name: "higher throughput", rate: "10", schedule: "rate(5 minutes)", wantRate: 10, wantInterval: 5 * time.Minute},
		{name: "a fraction of the quota", rate: "1.5", schedule: "rate(1 hour)", wantRate: 1.5, wantInterval: time.Hour},
		{name: "one minute", schedule: "rate(1 minute)", wantInterval: time.Minute},
		{name: "days", schedule: "rate(2 days)", wantInterval: 48 * time.Hour},
		{name: "cron: the default interval", schedule: "cron(0/5 * * * ? *)"},
		{name: "rate not a number", rate: "fast", wantErr: "ROTATOR_WRITE_RATE"},
		{name: "rate zero", rate: "0", wantErr: "ROTATOR_WRITE_RATE"},
		{name: "schedule without unit", schedule: "rate(5)", wantErr: "SCHEDULE_EXPRESSION"},
		{name: "schedule in seconds", schedule: "rate(30 seconds)", wantErr: "SCHEDULE_EXPRESSION"},
		{name: "schedule not a schedule", schedule: "every 5 minutes", wantErr: "SCHEDULE_EXPRESSION"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(func(k string) string {
				return map[string]string{"PROFILES_FILE": "/p.yaml", "ROTATOR_WRITE_RATE": tt.rate, "SCHEDULE_EXPRESSION": tt.schedule}[k]
			})
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("loadConfig error = %v; want it to name %s", err, tt.wantErr)
			case tt.wantErr == "" && (err != nil || cfg.WriteRate != tt.wantRate || cfg.Interval != tt.wantInterval):
				t.Errorf("loadConfig = rate %v, interval %s, %v; want %v, %s", cfg.WriteRate, cfg.Interval, err, tt.wantRate, tt.wantInterval)
			}
		})
	}
}

func TestLoadConfigRequestTimeout(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		want        time.Duration
		wantErr     bool
	}{
		{"default (oauth's own)", "", 0, false},
		{"a slow provider", "30s", 30 * time.Second, false},
		{"a faster clock (the scaled tests)", "1s", time.Second, false},
		{"not a duration", "10", 0, true},
		{"too short to answer", "10ms", 0, true},
		{"longer than a run should wait", "5m", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(func(k string) string {
				return map[string]string{"PROFILES_FILE": "/p.yaml", "ROTATOR_REQUEST_TIMEOUT": tt.value}[k]
			})
			switch {
			case tt.wantErr && (err == nil || !strings.Contains(err.Error(), "ROTATOR_REQUEST_TIMEOUT")):
				t.Errorf("loadConfig(ROTATOR_REQUEST_TIMEOUT=%q) error = %v; want it to name the variable", tt.value, err)
			case !tt.wantErr && (err != nil || cfg.RequestTimeout != tt.want):
				t.Errorf("loadConfig(ROTATOR_REQUEST_TIMEOUT=%q) = %s, %v; want %s", tt.value, cfg.RequestTimeout, err, tt.want)
			}
		})
	}
}

func TestSampleProfilesAreValid(t *testing.T) {
	for _, f := range []string{"profiles/sandbox.yaml", "profiles/production.yaml"} {
		ps, err := profile.Load(f, profile.Options{})
		if err != nil {
			t.Fatalf("Load(%s) = %v", f, err)
		}
		if len(ps) != 5 {
			t.Errorf("%s has %d profiles; want 5 (four providers, two CaaS agencies)", f, len(ps))
		}
	}
}

// rig is the whole rotation in-process: the handler with real AWS clients
// against moto (through a counting proxy) and the fake providers.
type rig struct {
	moto    *mototest.Server
	proxy   *mototest.Proxy
	idp     *oauthtest.Server
	ssm     *ssm.Client
	sm      *secretsmanager.Client
	h       *handler
	logs    *bytes.Buffer
	metrics *bytes.Buffer
	file    string
}

const (
	avivSecret    = "Zq8xW3vN7kLp2Rt5Ym9B"
	pliantSecret  = "Hj4Gf6Ds8Aq1We3Rt5Yu"
	partnerSecret = "Mn0Bv9Cx8Zl7Kj6Hg5Fd"
)

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{moto: mototest.Start(t), idp: oauthtest.NewServer(), logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}}
	t.Cleanup(r.idp.Close)
	r.proxy = r.moto.Proxy(t)
	r.idp.AddClient("aviv-client", avivSecret)
	r.idp.AddClient("pliant-client", pliantSecret)
	r.idp.AddClient("partner-client", partnerSecret)
	r.moto.MustPutClientSecret(t, "oauth-clients/aviv-sandbox", "aviv-client", avivSecret)
	r.moto.MustPutClientSecret(t, "oauth-clients/pliant-staging", "pliant-client", pliantSecret)
	r.moto.MustPutClientSecret(t, "oauth-clients/partner-sandbox", "partner-client", partnerSecret)

	doc, err := r.idp.Localize(readFile(t, "profiles/sandbox.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r.file = filepath.Join(t.TempDir(), "profiles.yaml")
	r.writeProfiles(t, doc)
	cfg, err := mototest.ConfigFor(context.Background(), r.proxy.URL, awsconfig.WithRetryer(newRetryer(noBackoff)))
	if err != nil {
		t.Fatal(err)
	}
	r.ssm, r.sm = ssm.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	r.reload(t)
	return r
}

func (r *rig) writeProfiles(t *testing.T, doc []byte) {
	t.Helper()
	if err := os.WriteFile(r.file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
}

// reload builds a new handler, as a new Lambda environment would; opts
// may add environment variables or change its dependencies.
func (r *rig) reload(t *testing.T, opts ...func(env map[string]string, d *handlerDeps)) {
	t.Helper()
	vars := map[string]string{"PROFILES_FILE": r.file, "ENVIRONMENT": "test"}
	d := handlerDeps{
		Secrets: &clientcred.Reader{API: r.sm},
		Store:   &tokenstore.Store{API: r.ssm},
		Fetcher: &oauth.Client{BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, RequestTimeout: 2 * time.Second},
		Logger:  slog.New(slog.NewJSONHandler(r.logs, nil)), Metrics: r.metrics,
	}
	for _, o := range opts {
		o(vars, &d)
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	r.h = newHandler(cfg, err, d)
}

func (r *rig) invoke(t *testing.T, payload string) (rotate.Summary, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return r.h.Handle(ctx, json.RawMessage(payload))
}

func (r *rig) record(t *testing.T, profile string) (tokenrecord.Record, string) {
	t.Helper()
	out, err := r.moto.Clients(t)
	_ = err
	res, gerr := out.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/oauth-tokens/" + profile), WithDecryption: aws.Bool(true)})
	if gerr != nil {
		t.Fatalf("GetParameter(%s) = %v", profile, gerr)
	}
	raw := aws.ToString(res.Parameter.Value)
	rec, perr := tokenrecord.Parse([]byte(raw))
	if perr != nil {
		t.Fatalf("record of %s: %v", profile, perr)
	}
	return rec, raw
}

var scheduled = `{"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-22T10:00:00Z","region":"us-east-1","resources":[],"detail":{}}`

var allProfiles = []string{"aviv-leads-sandbox", "aviv-caas-sandbox-agency-42", "aviv-caas-sandbox-agency-43", "pliant-staging", "partner-sandbox"}

// leaks fails the test if s contains any secret or issued token, whole or
// any 8-character piece of one.
func (r *rig) leaks(t *testing.T, what, s string) {
	t.Helper()
	values := []string{avivSecret, pliantSecret, partnerSecret}
	for _, i := range r.idp.IssuedTokens() {
		values = append(values, i.Token)
	}
	if piece, found := leakcheck.Find(s, values...); found {
		t.Fatalf("%s contains %q, a piece of a secret or token", what, piece)
	}
}

func TestRotationAgainstMoto(t *testing.T) {
	r := newRig(t)

	// First run: one token per profile, one read per distinct secret.
	sum, err := r.invoke(t, scheduled)
	if err != nil || len(sum.Refreshed) != 5 {
		t.Fatalf("first run = %+v, %v; want 5 refreshed", sum, err)
	}
	if got := r.idp.RequestCount(); got != 5 {
		t.Errorf("token requests = %d; want 5", got)
	}
	if got := r.proxy.Count(mototest.OpGetSecretValue); got != 3 {
		t.Errorf("GetSecretValue calls = %d; want 3 (the CaaS profiles share one secret)", got)
	}
	for _, name := range allProfiles {
		rec, _ := r.record(t, name)
		if rec.Profile != name || !r.idp.Valid(rec.AccessToken) || rec.Lifetime() < time.Hour {
			t.Errorf("record of %s = %v; want a valid token for it", name, rec)
		}
	}
	reqs := r.idp.Requests()
	for _, q := range reqs {
		if q.Status != 200 {
			t.Errorf("provider %s answered %d; want 200 (audience, intermediary_id, Accept all right)", q.Provider, q.Status)
		}
	}

	// Second run: no token request, no secret read, ceil(5/10) GetParameters.
	r.proxy.Reset()
	sum, err = r.invoke(t, scheduled)
	if err != nil || len(sum.Skipped) != 5 {
		t.Fatalf("second run = %+v, %v; want 5 skipped", sum, err)
	}
	if got := r.idp.RequestCount(); got != 5 {
		t.Errorf("second run made %d token requests; want 0", got-5)
	}
	if c := r.proxy.Counts(); c[mototest.OpGetSecretValue] != 0 || c[mototest.OpGetParameters] != 1 || c[mototest.OpPutParameter] != 0 {
		t.Errorf("second run AWS calls = %v; want one GetParameters and nothing else", c)
	}

	// A changed audience is refetched, and only that profile.
	doc := bytes.Replace(readFile(t, r.file), []byte("https://api.aviv-group.com/sandbox/seeker-leads-ingest-de/v1"), []byte("https://api.aviv-group.com/seeker-leads-ingest-de/v1"), 1)
	r.writeProfiles(t, doc)
	r.reload(t)
	sum, err = r.invoke(t, scheduled)
	if err != nil || len(sum.Refreshed) != 1 || sum.Refreshed[0].Profile != "aviv-leads-sandbox" {
		t.Fatalf("after audience change = %+v, %v; want aviv-leads-sandbox refreshed", sum, err)
	}
	if last := r.idp.Requests()[r.idp.RequestCount()-1]; last.Audience != "https://api.aviv-group.com/seeker-leads-ingest-de/v1" {
		t.Errorf("refetch used audience %q; want the new one", last.Audience)
	}

	// A forced run of one profile.
	before, _ := r.record(t, "partner-sandbox")
	sum, err = r.invoke(t, string(readFile(t, "../../events/force.json")))
	if err != nil || len(sum.Refreshed) != 1 || sum.Refreshed[0].Profile != "aviv-caas-sandbox-agency-42" {
		t.Fatalf("force.json = %+v, %v; want agency-42 refreshed", sum, err)
	}
	if after, _ := r.record(t, "partner-sandbox"); after.AccessToken != before.AccessToken {
		t.Error("a forced run of agency-42 changed partner-sandbox's token")
	}

	// Metrics: EMF lines for the run and each profile.
	lines := strings.Split(strings.TrimSpace(r.metrics.String()), "\n")
	var runLines, profileLines int
	for _, l := range lines {
		var doc map[string]any
		if err := json.Unmarshal([]byte(l), &doc); err != nil {
			t.Fatalf("EMF line %q: %v", l, err)
		}
		if _, ok := doc["_aws"]; !ok {
			t.Errorf("EMF line lacks _aws: %s", l)
		}
		if _, ok := doc["MinSecondsUntilExpiry"]; ok {
			runLines++
			if d, ok := doc["ProfilesDeferred"]; !ok || d != 0.0 {
				t.Errorf("EMF run line ProfilesDeferred = %v; want 0 (nothing deferred at 5 profiles)", d)
			}
		}
		if _, ok := doc["SecondsUntilExpiry"]; ok {
			profileLines++
		}
	}
	if runLines != 4 || profileLines != 5*3+1 {
		t.Errorf("EMF run lines = %d, profile lines = %d; want 4 and 16", runLines, profileLines)
	}
	r.leaks(t, "logs", r.logs.String())
	r.leaks(t, "metrics", r.metrics.String())
}

func TestRotationFaults(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, r *rig)
		payload    string
		wantFailed []string
		wantMsg    string
		refreshed  int
	}{
		{"503 then success", func(_ *testing.T, r *rig) {
			r.idp.Inject(oauthtest.Fault{Provider: "partner", Status: 503, Body: `{"error":"temporarily_unavailable"}`})
		}, `{"force":true,"profiles":["partner-sandbox"]}`, nil, "", 1},
		{"outage", func(_ *testing.T, r *rig) {
			r.idp.Inject(oauthtest.Fault{Provider: "pliant", Status: 503, Times: 10})
		}, `{"force":true}`, []string{"pliant-staging"}, "status 503", 4},
		{"malformed 200", func(_ *testing.T, r *rig) {
			r.idp.Inject(oauthtest.Fault{Provider: "aviv-leads", Status: 200, Body: `<html>ok</html>`})
		}, `{"force":true}`, []string{"aviv-leads-sandbox"}, "not a JSON token response", 4},
		{"missing secret", func(t *testing.T, r *rig) {
			_, err := r.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String("oauth-clients/partner-sandbox"), ForceDeleteWithoutRecovery: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
		}, `{"force":true}`, []string{"partner-sandbox"}, "secret not found", 4},
		{"secret without client_secret", func(t *testing.T, r *rig) {
			if err := r.moto.PutSecret(context.Background(), "oauth-clients/aviv-sandbox", `{"client_id":"aviv-client"}`); err != nil {
				t.Fatal(err)
			}
		}, `{"force":true}`, []string{"aviv-caas-sandbox-agency-42", "aviv-caas-sandbox-agency-43", "aviv-leads-sandbox"}, "client_secret is missing", 2},
		{"invalid_client", func(t *testing.T, r *rig) {
			if err := r.moto.PutSecret(context.Background(), "oauth-clients/pliant-staging", `{"client_id":"pliant-client","client_secret":"wrong-wrong-wrong"}`); err != nil {
				t.Fatal(err)
			}
		}, `{"force":true}`, []string{"pliant-staging"}, `"invalid_client"`, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			if _, err := r.invoke(t, scheduled); err != nil {
				t.Fatal(err)
			}
			before := map[string]string{}
			for _, p := range allProfiles {
				_, raw := r.record(t, p)
				before[p] = raw
			}
			tt.setup(t, r)
			sum, err := r.invoke(t, tt.payload)
			if len(sum.Refreshed) != tt.refreshed {
				t.Errorf("refreshed %d; want %d (%+v)", len(sum.Refreshed), tt.refreshed, sum)
			}
			if len(tt.wantFailed) == 0 {
				if err != nil {
					t.Fatalf("invoke = %v; want success", err)
				}
				return
			}
			var re *rotate.RunError
			if !errors.As(err, &re) {
				t.Fatalf("invoke error = %v; want a RunError", err)
			}
			for _, p := range tt.wantFailed {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not name %s", err, p)
				}
				if _, raw := r.record(t, p); raw != before[p] {
					t.Errorf("stored token of failed %s changed", p)
				}
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q; want it to say %q", err, tt.wantMsg)
			}
			if len(sum.Failed) != len(tt.wantFailed) {
				t.Errorf("failed = %+v; want %v", sum.Failed, tt.wantFailed)
			}
			r.leaks(t, "error", err.Error())
			r.leaks(t, "logs", r.logs.String())
		})
	}
}

func TestInvalidProfilesTouchNothing(t *testing.T) {
	r := newRig(t)
	if _, err := r.invoke(t, scheduled); err != nil {
		t.Fatal(err)
	}
	_, before := r.record(t, "partner-sandbox")
	doc := append(readFile(t, r.file), []byte("  - name: broken\n    token_url: http://auth.example.com/t\n    secret_id: x\n    body: xml\n")...)
	r.writeProfiles(t, doc)
	r.reload(t)
	r.proxy.Reset()
	requests := r.idp.RequestCount()
	_, err := r.invoke(t, `{"force":true}`)
	if err == nil || !strings.Contains(err.Error(), `profile "broken"`) || !strings.Contains(err.Error(), "token_url") || !strings.Contains(err.Error(), "field body") {
		t.Fatalf("invoke with invalid document = %v; want an error naming profile broken, token_url and body", err)
	}
	if r.idp.RequestCount() != requests || len(r.proxy.Counts()) != 0 {
		t.Errorf("invalid document still caused %d token requests and AWS calls %v; want none", r.idp.RequestCount()-requests, r.proxy.Counts())
	}
	if _, after := r.record(t, "partner-sandbox"); after != before {
		t.Error("stored token changed")
	}
}
