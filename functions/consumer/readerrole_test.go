package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/orgtest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

func TestReaderRoleFromEnv(t *testing.T) {
	const arn = "arn:aws:iam::123456789012:role/oauth-token-rotator-CrossAccountReaders-1A-ReaderRole-2B"
	cases := []struct {
		name     string
		vars     map[string]string
		want     readerRole
		badNames []string
	}{
		{"none: the execution role, in AWS_REGION", nil, readerRole{}, nil},
		{"role and region", map[string]string{"TOKEN_READER_ROLE_ARN": " " + arn, "TOKEN_REGION": "eu-west-1"}, readerRole{ARN: arn, Region: "eu-west-1"}, nil},
		{"region alone: the same account's rotator elsewhere", map[string]string{"TOKEN_REGION": "us-gov-west-1"}, readerRole{Region: "us-gov-west-1"}, nil},
		{"not a role", map[string]string{"TOKEN_READER_ROLE_ARN": "arn:aws:iam::123456789012:user/bob"}, readerRole{}, []string{"TOKEN_READER_ROLE_ARN"}},
		{"a name, not an ARN", map[string]string{"TOKEN_READER_ROLE_ARN": "reader"}, readerRole{}, []string{"TOKEN_READER_ROLE_ARN"}},
		{"both wrong", map[string]string{"TOKEN_READER_ROLE_ARN": "*", "TOKEN_REGION": "Europe"}, readerRole{}, []string{"TOKEN_READER_ROLE_ARN", "TOKEN_REGION"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readerRoleFromEnv(env(c.vars))
			if c.badNames == nil {
				if err != nil || got != c.want {
					t.Errorf("readerRoleFromEnv = %+v, %v; want %+v, nil", got, err, c.want)
				}
				return
			}
			for _, name := range c.badNames {
				if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "rotator stack's") {
					t.Errorf("readerRoleFromEnv = %v; want an error naming %s and what to set it to", err, name)
				}
			}
		})
	}
}

// TestBinaryOtherAccount runs the built bootstrap as a consumer of the
// workload account (its own region eu-central-1) that reads the platform
// account's record in us-east-1 through the reader role rendered from
// template.yaml (enforced by mototest's proxy: package orgtest), then as
// the outsider, whose invocation fails with an error that names the role,
// the profile and what to change.
func TestBinaryOtherAccount(t *testing.T) {
	const token = "eyJother-account-token-5f3a9c0d2e8b7a61"
	moto := mototest.Start(t)
	proxy := moto.Proxy(t)
	seed, _ := moto.Clients(t)
	now := time.Now()
	rec, err := tokenrecord.Marshal(tokenrecord.Record{AccessToken: token, TokenType: "Bearer", Profile: testProfile,
		IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(tokenrecord.ParameterName("", testProfile)),
		Value: aws.String(string(rec)), Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	org := orgtest.Setup(t, proxy, map[string]string{"CrossAccountReaderAccounts": orgtest.Workload})
	api := newPartner(t, token)
	event, err := os.ReadFile("../../events/consumer.json")
	if err != nil {
		t.Fatal(err)
	}
	bin := lambdatest.Build(t, "./functions/consumer")
	start := func(account string) (*lambdatest.Runtime, aws.Credentials) {
		creds := org.MustCredentials(t, account)
		env := append(org.Env(creds, "eu-central-1"), "PROFILE="+testProfile, "API_BASE_URL="+api.URL,
			"TOKEN_READER_ROLE_ARN="+org.Reader.ARN, "TOKEN_REGION="+mototest.Region)
		return lambdatest.Start(t, bin, env, lambdatest.WithFunctionName("leads-export")), creds
	}

	rt, own := start(orgtest.Workload)
	proxy.Reset()
	for i := range 5 {
		res, err := rt.Invoke(t.Context(), event)
		var ans answer
		if err != nil || res.Err != nil || json.Unmarshal(res.Payload, &ans) != nil || ans.Status != http.StatusOK {
			t.Fatalf("invocation %d in %s: %s, %v, %v; want status 200", i+1, orgtest.Workload, res.Payload, res.Err, err)
		}
	}
	rt.Close()
	if a, g := proxy.Count(mototest.OpAssumeRole), proxy.Count(mototest.OpGetParameter); a != 1 || g != 1 {
		t.Errorf("AssumeRole %d, GetParameter %d over 5 invocations; want 1 and 1", a, g)
	}
	if got := api.tokenRequests.Load(); got != 0 {
		t.Errorf("token requests = %d; want 0", got)
	}

	out, outsider := start(orgtest.Outsider)
	res, err := out.Invoke(t.Context(), event)
	if err != nil || res.Err == nil {
		t.Fatalf("invocation in %s = %s, %v; want a function error", orgtest.Outsider, res.Payload, err)
	}
	for _, want := range []string{`profile "` + testProfile + `"`, org.Reader.ARN, "could not be assumed", "CrossAccountReaderAccounts"} {
		if !strings.Contains(res.Err.ErrorMessage, want) {
			t.Errorf("the outsider's error %q does not contain %q", res.Err.ErrorMessage, want)
		}
	}
	out.Close()
	logs := strings.Join(append(rt.Logs(), out.Logs()...), "\n") + res.Err.ErrorMessage
	for _, secret := range []string{token, own.SecretAccessKey, own.SessionToken, outsider.SecretAccessKey, outsider.SessionToken} {
		if piece, found := leakcheck.Find(logs, secret); found {
			t.Errorf("logs or errors contain %q, a piece of the token or a credential", piece)
		}
	}
}
