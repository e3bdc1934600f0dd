package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

// TestBinaryStatusAndCredentialsEvent drives the built bootstrap through
// the Lambda Runtime API: after a first fill, events/status.json answers
// all five profiles with their stored records' times, from one
// GetParameters call (five records and the failure record) and no other
// AWS call or token request; then events/secret-label-updated.json, after
// a new value of the AVIV secret, refreshes the three AVIV profiles with
// one token request each, counted as credentials-changed. No answer or log
// line holds a piece of a token or secret.
func TestBinaryStatusAndCredentialsEvent(t *testing.T) {
	r := newRig(t)
	root := t.TempDir()
	doc, err := r.idp.Localize(readFile(t, "profiles/sandbox.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "profiles", "sandbox.yaml"), doc, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(mototest.EnvFor(r.proxy.URL), "PROFILES_FILE=profiles/sandbox.yaml", "ENVIRONMENT=e2e")
	rt := lambdatest.Start(t, lambdatest.Build(t, "./functions/rotator"), env,
		lambdatest.WithTaskRoot(root), lambdatest.WithFunctionName("rotator"), lambdatest.WithTimeout(60*time.Second))
	invoke := func(payload []byte, out any) {
		t.Helper()
		res, err := rt.Invoke(context.Background(), payload)
		if err != nil || res.Err != nil {
			t.Fatalf("Invoke(%.40s) = %v, %v", payload, res.Err, err)
		}
		if err := json.Unmarshal(res.Payload, out); err != nil {
			t.Fatalf("answer %s: %v", res.Payload, err)
		}
		r.leaks(t, "answer", string(res.Payload))
	}
	var sum rotate.Summary
	invoke(readFile(t, "../../events/scheduled.json"), &sum)

	r.proxy.Reset()
	tokens := r.idp.RequestCount()
	var st rotate.Status
	invoke(readFile(t, "../../events/status.json"), &st)
	if got := r.proxy.Counts(); fmt.Sprint(got) != fmt.Sprint(map[string]int{mototest.OpGetParameters: 1}) || r.idp.RequestCount() != tokens {
		t.Errorf("status: AWS calls %v, token requests %d; want one GetParameters and nothing else", got, r.idp.RequestCount()-tokens)
	}
	if len(st.Profiles) != len(allProfiles) || st.Counts[rotate.StateOK] != len(allProfiles) {
		t.Fatalf("status = %+v; want the %d profiles, all ok", st, len(allProfiles))
	}
	for _, p := range st.Profiles {
		rec, _ := r.record(t, p.Profile)
		if !p.ExpiresAt.Equal(rec.ExpiresAt) || !p.IssuedAt.Equal(rec.IssuedAt) || p.Configuration != "matches" {
			t.Errorf("status of %s = %+v; want the stored record's times (%s, %s) and configuration matches", p.Profile, p, rec.IssuedAt, rec.ExpiresAt)
		}
	}

	const newSecret = "Ne7wAv1vS3cret9Qz4Lm"
	r.idp.AddClient("aviv-client", newSecret)
	r.moto.MustPutClientSecret(t, "oauth-clients/aviv-sandbox", "aviv-client", newSecret)
	r.proxy.Reset()
	tokens = r.idp.RequestCount()
	invoke(readFile(t, "../../events/secret-label-updated.json"), &sum)
	if profilesOf(sum.Refreshed) != avivProfiles || r.idp.RequestCount()-tokens != 3 || r.proxy.Count(mototest.OpGetSecretValue) != 1 {
		t.Errorf("Secret Label Updated = %+v; %d token requests, %d secret reads; want the 3 AVIV profiles, 3 and 1", sum, r.idp.RequestCount()-tokens, r.proxy.Count(mototest.OpGetSecretValue))
	}
	rt.Close()
	logs := strings.Join(rt.Logs(), "\n")
	if n := strings.Count(logs, `"token_request":"credentials-changed"`); n != 3 {
		t.Errorf("log lines with token_request credentials-changed = %d; want 3", n)
	}
	r.leaks(t, "logs", logs)
	if strings.Contains(logs, newSecret[:8]) {
		t.Error("the logs hold a piece of the new secret")
	}
}
