package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// TestBinaryAsLambda drives the built bootstrap (the Makefile's flags)
// through the Lambda Runtime API, with the profiles beside it as the build
// bundles them, across warm invocations of one process: first run, second
// run with no token request, forced run, outage. No captured log line may
// contain a piece of a secret or token.
func TestBinaryAsLambda(t *testing.T) {
	r := newRig(t) // moto, proxy, fake providers, secrets
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	doc, err := r.idp.Localize(readFile(t, "profiles/sandbox.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "profiles", "sandbox.yaml"), doc, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(mototest.EnvFor(r.proxy.URL), "PROFILES_FILE=profiles/sandbox.yaml", "ENVIRONMENT=e2e")
	rt := lambdatest.Start(t, lambdatest.Build(t, "./functions/rotator"), env,
		lambdatest.WithTaskRoot(root), lambdatest.WithFunctionName("rotator"), lambdatest.WithTimeout(60*time.Second))

	invoke := func(payload string) (rotate.Summary, *lambdatest.FunctionError) {
		t.Helper()
		res, err := rt.Invoke(context.Background(), []byte(payload))
		if err != nil {
			t.Fatalf("Invoke(%s) = %v", payload, err)
		}
		var sum rotate.Summary
		if res.Err == nil {
			if err := json.Unmarshal(res.Payload, &sum); err != nil {
				t.Fatalf("answer %s: %v", res.Payload, err)
			}
		}
		return sum, res.Err
	}

	sum, ferr := invoke(string(readFile(t, "../../events/scheduled.json")))
	if ferr != nil || len(sum.Refreshed) != 5 || r.idp.RequestCount() != 5 {
		t.Fatalf("first run = %+v, %v, %d token requests; want 5 refreshed with 5 requests", sum, ferr, r.idp.RequestCount())
	}
	r.proxy.Reset()
	sum, ferr = invoke(string(readFile(t, "../../events/scheduled.json")))
	if ferr != nil || len(sum.Skipped) != 5 || r.idp.RequestCount() != 5 || r.proxy.Count(mototest.OpGetSecretValue) != 0 {
		t.Fatalf("second run = %+v, %v; token requests %d, secret reads %d; want 5 skipped, none", sum, ferr, r.idp.RequestCount()-5, r.proxy.Count(mototest.OpGetSecretValue))
	}
	sum, ferr = invoke(string(readFile(t, "../../events/force.json")))
	if ferr != nil || len(sum.Refreshed) != 1 || r.idp.RequestCount() != 6 {
		t.Fatalf("forced run = %+v, %v; want one refresh", sum, ferr)
	}

	r.idp.Inject(oauthtest.Fault{Status: 503, Times: 100})
	_, outage := invoke(`{"force": true}`)
	if outage == nil || !strings.Contains(outage.ErrorMessage, "5 profile(s) failed") || !strings.Contains(outage.ErrorMessage, "partner-sandbox") {
		t.Fatalf("outage = %+v; want an invocation error naming the failed profiles", outage)
	}
	// The stored tokens survived the outage.
	r.proxy.Reset()
	sum, ferr = invoke(`{}`)
	if ferr != nil || len(sum.Skipped) != 5 {
		t.Fatalf("run after outage = %+v, %v; want the old tokens still valid", sum, ferr)
	}

	rt.Close()
	lines := rt.Logs()
	perProfile := 0
	for _, l := range lines {
		if strings.Contains(l, `"msg":"profile `) {
			perProfile++
		}
	}
	if perProfile != 5+5+1+5+5 {
		t.Errorf("per-profile log lines = %d; want 21 (four runs of 5 profiles, one forced run of 1)", perProfile)
	}
	r.leaks(t, "binary logs", strings.Join(lines, "\n"))
	r.leaks(t, "error answer", outage.ErrorMessage)
}
