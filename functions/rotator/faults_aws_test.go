package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// awsFaults injects AWS errors through the proxy in front of moto. The
// rotator's AWS clients are built with newRetryer, as main builds them, so
// the attempt counts asserted here are the production retryer's.
func awsFaults(t *testing.T, e *faultEnv) {
	const prefix = "/faults/aws"
	secrets := map[string]string{"a": "Aa1Ss2Dd3Ff4Gg5Hh6Jj7", "b": "Bb1Nn2Mm3Kk4Ll5Pp6Oo7", "c": "Cc1Vv2Xx3Zz4Qq5Ww6Ee7"}
	var doc strings.Builder
	doc.WriteString("profiles:\n")
	for _, p := range []string{"a", "b", "c"} {
		e.secret(t, "faults-aws/"+p, "aws-"+p+"-client", secrets[p])
		doc.WriteString("  - name: " + p + "\n    token_url: " + e.idp.TokenURL("partner") + "\n    secret_id: faults-aws/" + p + "\n    headers: {Accept: application/json}\n")
	}
	h := e.handler(t, doc.String(), prefix, nil, nil)
	ctx := context.Background()
	if sum, err := e.invoke(t, h, scheduled); err != nil || len(sum.Refreshed) != 3 {
		t.Fatalf("first run = %+v, %v; want a, b and c refreshed", sum, err)
	}
	raw := func(p string) string { return e.raw(t, tokenrecord.ParameterName(prefix, p)) }
	putSecret := func(t *testing.T, in *secretsmanager.PutSecretValueInput) {
		t.Helper()
		in.SecretId = aws.String("faults-aws/b")
		if _, err := e.adminSM.PutSecretValue(ctx, in); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.moto.MustPutClientSecret(t, "faults-aws/b", "aws-b-client", secrets["b"]) })
	}
	const throttle = mototest.Throttle

	t.Run("SSM throttling bursts are absorbed by the retryer", func(t *testing.T) {
		for _, op := range []string{mototest.OpGetParameters, mototest.OpPutParameter, mototest.OpGetSecretValue} {
			e.proxy.Inject(mototest.Fault{Op: op, Status: 400, Body: throttle, Times: 5})
		}
		e.proxy.Reset()
		before := e.requestsByClient()
		sum, err := e.invoke(t, h, `{"force":true}`)
		if err != nil || len(sum.Refreshed) != 3 {
			t.Fatalf("forced run through throttling = %+v, %v; want a, b and c refreshed", sum, err)
		}
		for _, op := range []string{mototest.OpGetParameters, mototest.OpPutParameter, mototest.OpGetSecretValue} {
			if n := e.proxy.Pending(op); n != 0 {
				t.Errorf("%s: %d throttles not met; want all 5 absorbed", op, n)
			}
		}
		after := e.requestsByClient()
		for _, p := range []string{"a", "b", "c"} {
			if n := after["aws-"+p+"-client"] - before["aws-"+p+"-client"]; n != 1 {
				t.Errorf("profile %s: %d token requests; want 1 (an AWS retry never repeats a fetch)", p, n)
			}
		}
	})

	t.Run("throttling beyond the retryer's attempts fails every profile and touches nothing", func(t *testing.T) {
		before := map[string]string{"a": raw("a"), "b": raw("b"), "c": raw("c")}
		requests := e.idp.RequestCount()
		e.proxy.Reset()
		// 8 attempts per AWS call is the production configuration
		// (newRetryer); this fails if it changes either way.
		const attempts = 8
		e.proxy.Inject(mototest.Fault{Op: mototest.OpGetParameters, Status: 400, Body: throttle, Times: attempts})
		sum, err := e.invoke(t, h, scheduled)
		var re *rotate.RunError
		if !errors.As(err, &re) || len(sum.Failed) != 3 {
			t.Fatalf("run = %+v, %v; want a RunError failing a, b and c", sum, err)
		}
		for _, p := range []string{"a (", "b (", "c (", "ThrottlingException"} {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q; want it to contain %q", err, p)
			}
		}
		if got, left := e.proxy.Count(mototest.OpGetParameters), e.proxy.Pending(mototest.OpGetParameters); got != attempts || left != 0 {
			t.Errorf("GetParameters calls = %d (%d faults left); want exactly %d attempts", got, left, attempts)
		}
		if e.idp.RequestCount() != requests || e.proxy.Count(mototest.OpGetSecretValue) != 0 || e.proxy.Count(mototest.OpPutParameter) != 0 {
			t.Errorf("a run that could not read the records fetched tokens, read secrets or wrote: %v", e.proxy.Counts())
		}
		for p, want := range before {
			if raw(p) != want {
				t.Errorf("record of %s changed", p)
			}
		}
	})

	t.Run("a record GetParameters reports missing is due, and only it", func(t *testing.T) {
		if err := deleteParameter(ctx, e, tokenrecord.ParameterName(prefix, "b")); err != nil {
			t.Fatal(err)
		}
		sum, err := e.invoke(t, h, scheduled)
		if err != nil || len(sum.Refreshed) != 1 || sum.Refreshed[0].Profile != "b" || sum.Refreshed[0].Reason != "no stored token" || len(sum.Skipped) != 2 {
			t.Fatalf("run = %+v, %v; want b refreshed (no stored token), a and c skipped", sum, err)
		}
	})

	t.Run("a GetParameters answer cut off inside a token fails every profile without quoting it", func(t *testing.T) {
		tok := "cut-off-token-" + randomHex(t)
		e.mustNotLeak(tok)
		before := map[string]string{"a": raw("a"), "b": raw("b"), "c": raw("c")}
		e.proxy.Inject(mototest.Fault{Op: mototest.OpGetParameters, Status: 200,
			Body: `{"InvalidParameters":[],"Parameters":[{"Name":"` + tokenrecord.ParameterName(prefix, "a") + `","Type":"SecureString","Version":3,"Value":"{\"access_token\":\"` + tok})
		requests := e.idp.RequestCount()
		sum, err := e.invoke(t, h, scheduled)
		if err == nil || len(sum.Failed) != 3 || !strings.Contains(err.Error(), "deserialization failed") || e.idp.RequestCount() != requests {
			t.Fatalf("run = %+v, %v; want a, b and c failed (deserialization failed), nothing fetched", sum, err)
		}
		for p, want := range before {
			if raw(p) != want {
				t.Errorf("record of %s changed", p)
			}
		}
	})

	t.Run("a GetParameters answer listing every record as invalid fetches nothing", func(t *testing.T) {
		names := `["` + tokenrecord.ParameterName(prefix, "a") + `","` + tokenrecord.ParameterName(prefix, "b") + `","` + tokenrecord.ParameterName(prefix, "c") + `"]`
		e.proxy.Inject(mototest.Fault{Op: mototest.OpGetParameters, Status: 200, Body: `{"InvalidParameters":` + names + `,"Parameters":[]}`})
		requests := e.idp.RequestCount()
		sum, err := e.invoke(t, h, scheduled)
		if err != nil || len(sum.Skipped) != 3 || e.idp.RequestCount() != requests {
			t.Fatalf("run = %+v, %v, %d token requests; want all skipped after the re-read under the lease, none fetched", sum, err, e.idp.RequestCount()-requests)
		}
	})

	for _, tt := range []struct {
		name  string
		fault mototest.Fault
		want  string
		calls int // PutParameter calls of b's record
	}{
		{"PutParameter denied for one profile", mototest.Fault{Status: 400, Times: -1,
			Body: `{"__type":"AccessDeniedException","message":"User is not authorized to perform: ssm:PutParameter"}`}, "AccessDeniedException", 1},
		{"PutParameter failing with 500 for one profile", mototest.Fault{Status: 500, Times: awsMaxAttempts,
			Body: `{"__type":"InternalServerError","message":"We encountered an internal error."}`}, "InternalServerError", awsMaxAttempts},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := raw("b")
			f := tt.fault
			f.Op, f.Match = mototest.OpPutParameter, `"Name":"`+tokenrecord.ParameterName(prefix, "b")+`"`
			e.proxy.Inject(f)
			t.Cleanup(e.proxy.Clear)
			sum, err := e.invoke(t, h, `{"force":true}`)
			e.checkFailure(t, sum, err, prefix, "b", tt.want, before, "a", "c")
			if left := e.proxy.Pending(mototest.OpPutParameter); tt.fault.Times > 0 && left != 0 {
				t.Errorf("%d faults left; want exactly %d attempts at the write", left, tt.calls)
			}
		})
	}

	for _, tt := range []struct {
		name  string
		setup func(t *testing.T)
		want  string
	}{
		{"secret not found", func(t *testing.T) {
			_, err := e.adminSM.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("faults-aws/b"), ForceDeleteWithoutRecovery: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.moto.MustPutClientSecret(t, "faults-aws/b", "aws-b-client", secrets["b"]) })
		}, `"faults-aws/b": secret not found`},
		{"access to the secret denied", func(t *testing.T) {
			e.proxy.Inject(mototest.Fault{Op: mototest.OpGetSecretValue, Match: `"faults-aws/b"`, Status: 400,
				Body: `{"__type":"AccessDeniedException","Message":"User is not authorized to perform: secretsmanager:GetSecretValue"}`})
			t.Cleanup(e.proxy.Clear)
		}, `"faults-aws/b": access to the secret denied`},
		{"malformed SecretString", func(t *testing.T) {
			putSecret(t, &secretsmanager.PutSecretValueInput{SecretString: aws.String(`{"client_id":"aws-b-client","client_secret":"` + secrets["b"])})
		}, "SecretString is not a JSON object"},
		{"SecretString without client_secret", func(t *testing.T) {
			putSecret(t, &secretsmanager.PutSecretValueInput{SecretString: aws.String(`{"client_id":"aws-b-client","secret":"` + secrets["b"] + `"}`)})
		}, "client_secret is missing or empty"},
		{"binary secret", func(t *testing.T) {
			putSecret(t, &secretsmanager.PutSecretValueInput{SecretBinary: []byte(`{"client_id":"aws-b-client","client_secret":"` + secrets["b"] + `"}`)})
		}, "it is a binary secret"},
		{"Secrets Manager answer cut off inside the secret", func(t *testing.T) {
			e.proxy.Inject(mototest.Fault{Op: mototest.OpGetSecretValue, Match: `"faults-aws/b"`, Status: 200,
				Body: `{"Name":"faults-aws/b","SecretString":"{\"client_id\":\"aws-b-client\",\"client_secret\":\"` + secrets["b"]})
			t.Cleanup(e.proxy.Clear)
		}, "deserialization failed"},
		{"SecretString of the wrong JSON type", func(t *testing.T) {
			e.proxy.Inject(mototest.Fault{Op: mototest.OpGetSecretValue, Match: `"faults-aws/b"`, Status: 200,
				Body: `{"Name":"faults-aws/b","SecretString":{"client_secret":"` + secrets["b"] + `"}}`})
			t.Cleanup(e.proxy.Clear)
		}, "deserialization failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := raw("b")
			requests := e.requestsByClient()["aws-b-client"]
			tt.setup(t)
			sum, err := e.invoke(t, h, `{"force":true}`)
			e.checkFailure(t, sum, err, prefix, "b", tt.want, before, "a", "c")
			if n := e.requestsByClient()["aws-b-client"] - requests; n != 0 {
				t.Errorf("%d token requests for b without its credentials; want 0", n)
			}
		})
	}

	if sum, err := e.invoke(t, h, `{"force":true}`); err != nil || !slices.EqualFunc(sum.Refreshed, []string{"a", "b", "c"}, func(o rotate.Outcome, p string) bool { return o.Profile == p }) {
		t.Errorf("after the faults, forced run = %+v, %v; want a, b and c refreshed", sum, err)
	}
}

// deleteParameter removes a parameter straight from moto.
func deleteParameter(ctx context.Context, e *faultEnv, name string) error {
	_, err := e.admin.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)})
	return err
}
