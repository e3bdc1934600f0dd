package demo

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

// TestDemo runs `make demo`'s flow end to end on the real binaries: both
// rotator runs, a {"status": true} request counted call by call, (the sandbox profiles plus Cognito with client_secret_basic,
// Okta with private_key_jwt and Salesforce without expires_in), fifty warm consumer invocations with exactly one parameter
// read, a revoked token replaced after one 401, and no secret or token in
// any log line, and a consumer in another account served through the
// reader role while an unlisted account is refused. Run checks each claim itself; the test checks the figures
// again so that a change to Run's checks cannot quietly pass.
func TestDemo(t *testing.T) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(mototest.InstallHint)
		}
		t.Skip(mototest.InstallHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := Run(ctx, Options{Out: &out, Root: "../../..", ConsumerInvocations: 50})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if rep.Profiles != 8 || rep.FirstRun.TokenRequests != 8 || rep.FirstRun.SecretReads != 6 || rep.SecondRun.TokenRequests != 0 || rep.SecondRun.SecretReads != 0 {
		t.Errorf("rotator figures = %+v / %+v; want 8 token requests and 6 secret reads, then none", rep.FirstRun, rep.SecondRun)
	}
	for _, a := range []string{"client_secret_post", "client_secret_basic", "private_key_jwt"} {
		if !slices.Contains(rep.Auths, a) {
			t.Errorf("the demo's profiles use %v; want %s among them", rep.Auths, a)
		}
	}
	if rep.Consumer.Invocations != 50 || rep.Consumer.OK != 50 || rep.Consumer.SSMReads != 1 || rep.Consumer.TokenRequests != 0 {
		t.Errorf("consumer figures = %+v; want 50 x 200 from one SSM read, no token request", rep.Consumer)
	}
	if rep.Revocation.Status != 200 || rep.Revocation.APICalls != 2 || rep.Revocation.SSMReads != 1 {
		t.Errorf("revocation = %+v; want one 401, one re-read, then 200", rep.Revocation)
	}
	if o := rep.OtherAccounts; o.Invocations != 50 || o.OK != 50 || o.AssumeRoles != 1 || o.SSMReads != 1 || o.TokenRequests != 0 {
		t.Errorf("consumer in another account = %+v; want 50 x 200 from one AssumeRole and one SSM read, no token request", o)
	}
	if o := rep.OtherAccounts; !strings.Contains(o.Refusal, o.Role) || !strings.Contains(o.Refusal, "could not be assumed") ||
		!strings.Contains(o.Refusal, "CrossAccountReaderAccounts") || !strings.Contains(o.Refusal, `profile "`+"aviv-caas-sandbox-agency-42") {
		t.Errorf("the outsider's error = %q; want it to name the profile, the role and what to change", o.Refusal)
	}
	if rep.Status.Rows != 8 || rep.Status.Correct != 8 || rep.Status.GetParameters != 1 || rep.Status.OtherCalls != 0 || rep.Status.TokenRequests != 0 {
		t.Errorf("status figures = %+v; want 8 correct rows from one GetParameters call, no other call, no token request", rep.Status)
	}
	if rep.Leaks != 0 || rep.LogLines < 10 {
		t.Errorf("%d of %d log lines leak; want 0 of many", rep.Leaks, rep.LogLines)
	}
	if !strings.Contains(out.String(), "OK: one token request per profile") {
		t.Errorf("report lacks its conclusion:\n%s", out.String())
	}
}

func TestCheckCatchesBrokenClaims(t *testing.T) {
	good := Report{Profiles: 5, Secrets: 3,
		FirstRun:   RunFigures{Refreshed: 5, TokenRequests: 5, SecretReads: 3},
		SecondRun:  RunFigures{Skipped: 5},
		Consumer:   ConsumerFigures{Invocations: 10, OK: 10, SSMReads: 1},
		Revocation: RevocationFigures{Status: 200, APICalls: 2, SSMReads: 1, TokenRequests: 1},
		Status:     StatusFigures{Rows: 5, Correct: 5, OK: 5, GetParameters: 1},
		OtherAccounts: OtherAccountFigures{Role: "arn:aws:iam::1:role/r", Invocations: 10, OK: 10, AssumeRoles: 1, SSMReads: 1,
			Refusal: "through role arn:aws:iam::1:role/r: ... CrossAccountReaderAccounts ..."}}
	if err := good.check(); err != nil {
		t.Fatalf("check(good) = %v", err)
	}
	tests := []struct {
		name   string
		break_ func(r *Report)
	}{
		{"second run fetched", func(r *Report) { r.SecondRun.TokenRequests = 1 }},
		{"second run read a secret", func(r *Report) { r.SecondRun.SecretReads = 1 }},
		{"secret read twice", func(r *Report) { r.FirstRun.SecretReads = 5 }},
		{"consumer read twice", func(r *Report) { r.Consumer.SSMReads = 2 }},
		{"consumer requested a token", func(r *Report) { r.Consumer.TokenRequests = 1 }},
		{"revocation not healed", func(r *Report) { r.Revocation.Status = 401 }},
		{"a leak", func(r *Report) { r.Leaks = 1 }},
		{"another account requested a token", func(r *Report) { r.OtherAccounts.TokenRequests = 1 }},
		{"another account assumed the role per call", func(r *Report) { r.OtherAccounts.AssumeRoles = 10 }},
		{"another account not served", func(r *Report) { r.OtherAccounts.OK = 9 }},
		{"the outsider's error says nothing to change", func(r *Report) { r.OtherAccounts.Refusal = "AccessDenied" }},
		{"status requested a token", func(r *Report) { r.Status.TokenRequests = 1 }},
		{"status read a secret", func(r *Report) { r.Status.OtherCalls = 1 }},
		{"status read unbatched", func(r *Report) { r.Status.GetParameters = 6 }},
		{"status row wrong", func(r *Report) { r.Status.Correct = 4 }},
	}
	for _, tt := range tests {
		r := good
		tt.break_(&r)
		if r.check() == nil {
			t.Errorf("%s: check = nil; want an error", tt.name)
		}
	}
}
