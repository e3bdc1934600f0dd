package functions_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/cfntest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// The values the dashboard's !Sub is resolved with: those of the run below.
const (
	dashNamespace   = "OAuthTokenRotator"
	dashEnvironment = "dashboard-check"
	dashRotator     = "stack-rotator"
	dashConsumer    = "stack-consumer"
)

// TestDashboardMatchesEmittedMetrics runs the built rotator and consumer
// bootstraps through the Lambda Runtime API against moto (behind the
// quota proxy) and the fake providers: a first fill, a run whose SSM reads
// are throttled, a forced refresh, a refused one, a credentials change
// event, a status request, and consumer invocations. It then resolves the
// template's dashboard body for that environment and checks every metric
// and dimension it names (plain metrics and SEARCH expressions) against
// the EMF lines the two processes wrote; AWS/Lambda metrics only as
// Lambda's own Duration and Errors of the stack's functions. The widgets
// the issue lists are all there, and a dashboard naming one metric wrong
// is caught.
func TestDashboardMatchesEmittedMetrics(t *testing.T) {
	moto := mototest.Start(t)
	proxy := moto.Proxy(t)
	idp := oauthtest.NewServer()
	t.Cleanup(idp.Close)
	for _, c := range [][3]string{{"oauth-clients/aviv-sandbox", "aviv", "Av1vS3cretValue00"}, {"oauth-clients/pliant-staging", "pliant", "Pl1antS3cretValue0"},
		{"oauth-clients/partner-sandbox", "partner", "Partn3rS3cretValue"}} {
		idp.AddClient(c[1], c[2])
		moto.MustPutClientSecret(t, c[0], c[1], c[2])
	}
	root := t.TempDir()
	doc, err := os.ReadFile("rotator/profiles/sandbox.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if doc, err = idp.Localize(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "profiles", "sandbox.yaml"), doc, 0o600); err != nil {
		t.Fatal(err)
	}
	common := append(mototest.EnvFor(proxy.URL), "ENVIRONMENT="+dashEnvironment, "METRICS_NAMESPACE="+dashNamespace)
	rotator := lambdatest.Start(t, lambdatest.Build(t, "./functions/rotator"), append(slices.Clone(common), "PROFILES_FILE=profiles/sandbox.yaml"),
		lambdatest.WithTaskRoot(root), lambdatest.WithFunctionName(dashRotator), lambdatest.WithTimeout(60*time.Second))
	invoke := func(rt *lambdatest.Runtime, payload string, wantErr bool) {
		t.Helper()
		res, err := rt.Invoke(context.Background(), []byte(payload))
		if err != nil || (res.Err != nil) != wantErr {
			t.Fatalf("Invoke(%.60s) = %+v, %v; want error %v", payload, res.Err, err, wantErr)
		}
	}
	invoke(rotator, string(readEventFile(t, "scheduled.json")), false)
	proxy.Inject(mototest.Fault{Op: mototest.OpGetParameters, Times: 2, Status: 400, Body: mototest.Throttle})
	invoke(rotator, string(readEventFile(t, "scheduled.json")), false)
	invoke(rotator, string(readEventFile(t, "force.json")), false)
	idp.Inject(oauthtest.Fault{Provider: "pliant", Status: 401, Body: `{"error":"invalid_client"}`})
	invoke(rotator, `{"force": true, "profiles": ["pliant-staging"]}`, true)
	invoke(rotator, string(readEventFile(t, "secret-label-updated.json")), false)
	invoke(rotator, string(readEventFile(t, "status.json")), false)

	consumerProfile := fmt.Sprint(get(loadTemplate(t), "Parameters", "ConsumerProfile", "Default"))
	consumer := lambdatest.Start(t, lambdatest.Build(t, "./functions/consumer"),
		append(slices.Clone(common), "PROFILE="+consumerProfile, "API_BASE_URL="+idp.APIURL()), lambdatest.WithFunctionName(dashConsumer))
	for range 3 {
		invoke(consumer, string(readEventFile(t, "consumer.json")), false)
	}
	rotator.Close()
	consumer.Close()

	got := emitted{}
	var throttled float64
	for _, l := range slices.Concat(rotator.Logs(), consumer.Logs()) {
		got.addEMF(l)
		if v, ok := jsonNumber(l, "SSMThrottles"); ok {
			throttled += v
		}
	}
	if throttled < 2 {
		t.Errorf("SSMThrottles summed over the runs = %v; want at least the 2 throttled GetParameters", throttled)
	}
	body := dashboardBody(t, consumerProfile)
	problems, names := dashboardProblems(body, got, []string{dashRotator, dashConsumer})
	for _, p := range problems {
		t.Error(p)
	}
	for _, want := range []string{"SecondsUntilExpiry", "MinSecondsUntilExpiry", "ProfilesRefreshed", "ProfilesSkipped", "ProfilesDeferred", "ProfilesFailed",
		"TokenRequests", "Duration", "Errors", "SSMThrottles", "CacheHits", "CacheMisses", "StaleServed", "ReadErrors"} {
		if !slices.Contains(names, want) {
			t.Errorf("the dashboard has no widget with %s", want)
		}
	}
	timeout := fmt.Sprint(get(loadTemplate(t), "Resources", rotatorID, "Properties", "Timeout"))
	if !strings.Contains(body, `{"label": "timeout", "value": `+timeout+`000}`) {
		t.Errorf("the duration widget lacks the rotator's timeout (%s s) as a line, in milliseconds", timeout)
	}
	for from, to := range map[string]string{`"SSMThrottles"`: `"SSMThrottled"`, `Environment,Profile,Reason}`: `Environment,Reason}`, `"FunctionName", "` + dashRotator: `"FunctionName", "other"`} {
		if broken, _ := dashboardProblems(strings.Replace(body, from, to, 1), got, []string{dashRotator, dashConsumer}); len(broken) == 0 {
			t.Errorf("a dashboard with %s for %s passes the check", to, from)
		}
	}
}

// dashboardBody is the template's DashboardBody resolved for the run.
func dashboardBody(t *testing.T, consumerProfile string) string {
	t.Helper()
	tpl := loadTemplate(t)
	ids := resourcesOfType(tpl, "AWS::CloudWatch::Dashboard")
	if len(ids) != 1 {
		t.Fatalf("dashboards in the template: %v; want one", ids)
	}
	vars := map[string]string{
		"MetricsNamespace": dashNamespace, "EnvironmentName": dashEnvironment, "AWS::Region": mototest.Region,
		"RotatorFunction": dashRotator, "ConsumerFunction": dashConsumer, "ConsumerProfile": consumerProfile,
		"ExpiryAlarmThresholdSeconds": fmt.Sprint(get(tpl, "Parameters", "ExpiryAlarmThresholdSeconds", "Default")),
	}
	for _, id := range resourcesOfType(tpl, "AWS::CloudWatch::Alarm") {
		vars[id+".Arn"] = "arn:aws:cloudwatch:" + mototest.Region + ":123456789012:alarm:" + id
	}
	body := expand(render(get(tpl, "Resources", ids[0], "Properties", "DashboardBody")), vars)
	if left := placeholder.FindAllString(body, -1); len(left) > 0 {
		t.Fatalf("the dashboard body refers to %v, which are not this stack's parameters, functions or alarms", left)
	}
	out := fmt.Sprint(get(tpl, "Outputs", "DashboardUrl", "Value"))
	if !strings.Contains(out, "#dashboards/dashboard/") || !strings.Contains(out, ids[0]) {
		t.Errorf("Outputs.DashboardUrl = %s; want a console URL of %s", out, ids[0])
	}
	return body
}

// jsonNumber returns a top-level number field of a JSON line.
func jsonNumber(line, field string) (float64, bool) {
	_, rest, ok := strings.Cut(line, `"`+field+`":`)
	if !ok {
		return 0, false
	}
	end := strings.IndexAny(rest, ",}")
	if end < 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(rest[:end]), 64)
	return v, err == nil
}

// TestDashboardNamePerRegion: CloudWatch dashboards are global to the
// account ("All dashboards in your account are global, not
// region-specific", AWS::CloudWatch::Dashboard), so two stacks of the same
// name in two regions of one account must not claim the same dashboard
// name; the stack output links the stack's own dashboard.
func TestDashboardNamePerRegion(t *testing.T) {
	names := map[string]string{}
	for _, region := range []string{"eu-west-1", "eu-central-1"} {
		s := testStack
		s.Region = region
		tpl, err := cfntest.Load(templatePath)
		if err != nil {
			t.Fatal(err)
		}
		out, err := cfntest.Render(tpl, s)
		if err != nil {
			t.Fatal(err)
		}
		ids := resourcesOfType(out, "AWS::CloudWatch::Dashboard")
		if len(ids) != 1 {
			t.Fatalf("dashboards: %v; want one", ids)
		}
		name := fmt.Sprint(get(out, "Resources", ids[0], "Properties", "DashboardName"))
		if !strings.Contains(name, s.StackName) || len(name) > 255 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			t.Errorf("in %s, DashboardName = %q; want the stack's name, in A-Z a-z 0-9 - _, at most 255 characters", region, name)
		}
		names[region] = name
		if url := fmt.Sprint(get(out, "Outputs", "DashboardUrl", "Value")); !strings.Contains(url, "region="+region) || !strings.HasSuffix(url, "#dashboards/dashboard/${"+ids[0]+"}") {
			t.Errorf("in %s, DashboardUrl = %s; want the console of %s opening ${%s}", region, url, region, ids[0])
		}
	}
	if names["eu-west-1"] == names["eu-central-1"] {
		t.Errorf("the stack %q in eu-west-1 and in eu-central-1 both name their dashboard %q: the second deploy would fail or take over the first's", testStack.StackName, names["eu-west-1"])
	}
}
