package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// TestBinaryWarmInvocations runs the built bootstrap through the Lambda
// Runtime API against moto: fifty warm invocations of one process read the
// parameter once (its EMF lines count one miss and 49 hits), request no
// token, and log nothing that contains the token.
func TestBinaryWarmInvocations(t *testing.T) {
	const token = "eyJe2e-token-0123456789abcdef"
	moto := mototest.Start(t)
	client, _ := moto.Clients(t)
	now := time.Now()
	rec, err := tokenrecord.Marshal(tokenrecord.Record{
		AccessToken: token, TokenType: "Bearer", Profile: testProfile,
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(tokenrecord.ParameterName("", testProfile)), Value: aws.String(string(rec)),
		Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	api := newPartner(t, token)

	env := append(moto.Env(), "PROFILE="+testProfile, "API_BASE_URL="+api.URL, "ENVIRONMENT=e2e")
	rt := lambdatest.Start(t, lambdatest.Build(t, "./functions/consumer"), env, lambdatest.WithFunctionName("consumer"))
	event, err := os.ReadFile("../../events/consumer.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		res, err := rt.Invoke(t.Context(), event)
		if err != nil || res.Err != nil {
			t.Fatalf("invocation %d: Invoke = %v, %v", i+1, res.Err, err)
		}
		var ans answer
		if err := json.Unmarshal(res.Payload, &ans); err != nil || ans.Status != http.StatusOK {
			t.Fatalf("invocation %d: answer %s (%v); want status 200", i+1, res.Payload, err)
		}
	}
	rt.Close() // all output is in

	var hits, misses, readErrors uint64
	emfLines := 0
	for _, line := range rt.Logs() {
		if strings.Contains(line, token) || strings.Contains(line, "eyJe2e") {
			t.Errorf("log line contains the token: %s", line)
		}
		var m struct {
			AWS                                *json.RawMessage `json:"_aws"`
			CacheHits, CacheMisses, ReadErrors uint64
		}
		if json.Unmarshal([]byte(line), &m) != nil || m.AWS == nil {
			continue
		}
		emfLines++
		hits, misses, readErrors = hits+m.CacheHits, misses+m.CacheMisses, readErrors+m.ReadErrors
	}
	if emfLines != 50 || hits != 49 || misses != 1 || readErrors != 0 {
		t.Errorf("EMF lines = %d with CacheHits %d, CacheMisses %d, ReadErrors %d; want 50 lines, 49, 1, 0", emfLines, hits, misses, readErrors)
	}
	if got := api.tokenRequests.Load(); got != 0 {
		t.Errorf("token requests = %d; want 0", got)
	}
	if got := api.requests.Load(); got != 50 {
		t.Errorf("partner requests = %d; want 50", got)
	}
}

// TestBinaryBadConfigFailsInit: a bad variable stops the function at init
// with an error that names it.
func TestBinaryBadConfigFailsInit(t *testing.T) {
	env := []string{"PROFILE=" + testProfile, "API_BASE_URL=http://api.example.com"}
	rt := lambdatest.Start(t, lambdatest.Build(t, "./functions/consumer"), env)
	_, err := rt.WaitInit(t.Context())
	var pe *lambdatest.ProcessError
	if !errors.As(err, &pe) || !pe.DuringInit || pe.ExitCode == 0 || !strings.Contains(strings.Join(pe.Output, "\n"), "API_BASE_URL") {
		t.Errorf("WaitInit with an http API_BASE_URL = %v; want the process to exit during init naming API_BASE_URL", err)
	}
}
