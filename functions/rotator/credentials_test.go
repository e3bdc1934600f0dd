package main

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

// The Secrets Manager change events of events/, whose shapes come from:
//   - secret-label-updated.json: the example of "Secret Label Updated event",
//     https://docs.aws.amazon.com/secretsmanager/latest/userguide/event-detail-secret-label-updated-secretsmanager.html
//     (name, account and region changed to the sandbox secret's);
//   - cloudtrail-put-secret-value.json: the "AWS API Call via CloudTrail"
//     envelope of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
//     around a CloudTrail record of PutSecretValue, whose fields are those of
//     https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
//     (the secret value is never logged; the secret's ARN is "arn", not "aRN",
//     since February 2024: https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html);
//   - cloudtrail-rotation-succeeded.json: the "AWS Service Event via
//     CloudTrail" envelope around the rotation log entry of the same
//     Secrets Manager page (requestParameters null, the ARN in
//     additionalEventData.SecretId).
//
// None is a captured event: no AWS account is reachable from these tests.

// jsonLines returns the log lines whose msg contains msg, decoded.
func jsonLines(t *testing.T, logs, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && strings.Contains(m["msg"].(string), msg) {
			out = append(out, m)
		}
	}
	return out
}

func profilesOf(os []rotate.Outcome) string {
	var names []string
	for _, o := range os {
		names = append(names, o.Profile)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

const avivProfiles = "aviv-caas-sandbox-agency-42,aviv-caas-sandbox-agency-43,aviv-leads-sandbox"

// TestCredentialsChangedEvents drives the handler, against moto, with each
// Secrets Manager change event of events/: a new value is proven at once
// with one token request per profile of that secret (reason
// credentials-changed); a refused one fails those profiles, keeps their
// tokens, logs the secret and the profiles, and keeps them failing in the
// status until a later value works; events that change nothing in use
// make no call at all.
func TestCredentialsChangedEvents(t *testing.T) {
	r := newRig(t)
	if _, err := r.invoke(t, scheduled); err != nil {
		t.Fatal(err)
	}
	const newSecret, badSecret = "Pq2Wx7Lm4Ns9Rt6Vb1Zc", "Wrong7Secret3Value9Xy"
	seen := []string{newSecret, badSecret}

	// A new value (PutSecretValue, seen as Secret Label Updated).
	r.idp.AddClient("aviv-client", newSecret)
	r.moto.MustPutClientSecret(t, "oauth-clients/aviv-sandbox", "aviv-client", newSecret)
	partner, _ := r.record(t, "partner-sandbox")
	r.proxy.Reset()
	before := r.idp.RequestCount()
	sum, err := r.invoke(t, string(readFile(t, "../../events/secret-label-updated.json")))
	if err != nil || profilesOf(sum.Refreshed) != avivProfiles || len(sum.Skipped)+len(sum.Failed) != 0 {
		t.Fatalf("Secret Label Updated = %+v, %v; want the three AVIV profiles refreshed and no other touched", sum, err)
	}
	for _, o := range sum.Refreshed {
		if o.TokenRequest != rotate.ReasonCredentialsChanged {
			t.Errorf("%s: token_request = %q; want credentials-changed", o.Profile, o.TokenRequest)
		}
	}
	reqs := r.idp.Requests()[before:]
	if len(reqs) != 3 || r.proxy.Count(mototest.OpGetSecretValue) != 1 {
		t.Errorf("token requests %d, secret reads %d; want 3 and 1", len(reqs), r.proxy.Count(mototest.OpGetSecretValue))
	}
	for _, q := range reqs {
		if !q.SecretOK || q.ClientID != "aviv-client" {
			t.Errorf("token request %+v; want the new secret, accepted", q)
		}
	}
	if after, _ := r.record(t, "partner-sandbox"); after.AccessToken != partner.AccessToken {
		t.Error("a change of the AVIV secret refreshed partner-sandbox")
	}
	if l := jsonLines(t, r.logs.String(), "refreshing the profiles that use this secret"); len(l) != 1 || l[0]["secret"] != "oauth-clients/aviv-sandbox" || l[0]["profiles"] != "aviv-leads-sandbox,aviv-caas-sandbox-agency-42,aviv-caas-sandbox-agency-43" {
		t.Errorf("credentials-changed log lines = %v; want one naming the secret and its three profiles", l)
	}

	// A refused value (PutSecretValue through CloudTrail): the tokens stay.
	r.moto.MustPutClientSecret(t, "oauth-clients/aviv-sandbox", "aviv-client", badSecret)
	_, stored := r.record(t, "aviv-leads-sandbox")
	metricsBefore := r.metrics.Len()
	sum, err = r.invoke(t, string(readFile(t, "../../events/cloudtrail-put-secret-value.json")))
	// The profiles-failed alarm's metric, and rotator-errors' (the error).
	if got := runMetric(t, r.metrics.String()[metricsBefore:], "ProfilesFailed"); got != 3 {
		t.Errorf("ProfilesFailed of the refused run = %v; want 3", got)
	}
	var runErr *rotate.RunError
	refusedErr := err
	if !errors.As(err, &runErr) || profilesOf(sum.Failed) != avivProfiles {
		t.Fatalf("refused credentials = %+v, %v; want a RunError failing the three AVIV profiles", sum, err)
	}
	for _, name := range strings.Split(avivProfiles, ",") {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if _, after := r.record(t, "aviv-leads-sandbox"); after != stored {
		t.Error("refused credentials changed the stored record")
	}
	refused := jsonLines(t, r.logs.String(), "credentials changed but not proven")
	if len(refused) != 1 || refused[0]["secret"] != "oauth-clients/aviv-sandbox" || refused[0]["level"] != "ERROR" ||
		!strings.Contains(refused[0]["profiles"].(string), "aviv-leads-sandbox") {
		t.Errorf("refusal log lines = %v; want one ERROR naming the secret and its profiles", refused)
	}
	st := r.status(t)
	for _, p := range st.Profiles {
		failing := strings.Contains(avivProfiles, p.Profile)
		if (p.State == rotate.StateFailing) != failing || (failing && !strings.Contains(p.Why, "invalid_client")) {
			t.Errorf("status of %s = %s (%s); want failing=%v, with the provider's reason", p.Profile, p.State, p.Why, failing)
		}
	}
	// Still failing after a scheduled run that skips them (their old tokens
	// are valid): the new value has not been proven.
	if _, err := r.invoke(t, scheduled); err != nil {
		t.Fatal(err)
	}
	if st := r.status(t); st.Counts[rotate.StateFailing] != 3 {
		t.Errorf("status after a scheduled run: %v; want the three AVIV profiles still failing", st.Counts)
	}

	// The secret is rotated to a working value: RotationSucceeded names it
	// by ARN; the profiles are refreshed and no longer failing.
	r.moto.MustPutClientSecret(t, "oauth-clients/aviv-sandbox", "aviv-client", newSecret)
	sum, err = r.invoke(t, string(readFile(t, "../../events/cloudtrail-rotation-succeeded.json")))
	if err != nil || profilesOf(sum.Refreshed) != avivProfiles {
		t.Fatalf("RotationSucceeded = %+v, %v; want the three AVIV profiles refreshed", sum, err)
	}
	if st := r.status(t); st.Counts[rotate.StateFailing] != 0 {
		t.Errorf("status after a working rotation: %+v; want none failing", st)
	}

	// Events that change no value in use: nothing read, nothing requested.
	label := string(readFile(t, "../../events/secret-label-updated.json"))
	for name, ev := range map[string]string{
		"a custom label":        strings.Replace(label, `"AWSCURRENT"`, `"blue"`, 1),
		"a secret nobody uses":  strings.Replace(label, `"name": "oauth-clients/aviv-sandbox"`, `"name": "oauth-clients/retired"`, 1),
		"a pending put":         strings.Replace(string(readFile(t, "../../events/cloudtrail-put-secret-value.json")), `"clientRequestToken"`, `"versionStages": ["AWSPENDING"], "clientRequestToken"`, 1),
		"a put that was denied": strings.Replace(string(readFile(t, "../../events/cloudtrail-put-secret-value.json")), `"eventName": "PutSecretValue",`, `"eventName": "PutSecretValue", "errorCode": "AccessDenied",`, 1),
	} {
		r.proxy.Reset()
		before := r.idp.RequestCount()
		sum, err := r.invoke(t, ev)
		if err != nil || len(sum.Outcomes()) != 0 || r.idp.RequestCount() != before || len(r.proxy.Counts()) != 0 {
			t.Errorf("%s = %+v, %v, %d token requests, AWS calls %v; want nothing done", name, sum, err, r.idp.RequestCount()-before, r.proxy.Counts())
		}
	}
	if l := jsonLines(t, r.logs.String(), "no profile uses this secret"); len(l) != 1 || l[0]["secret"] != "oauth-clients/retired" {
		t.Errorf("unused-secret log lines = %v; want one naming oauth-clients/retired", l)
	}
	if l := jsonLines(t, r.logs.String(), "event ignored"); len(l) != 3 {
		t.Errorf("ignored-event log lines = %d; want 3 (the label, the pending put, the denied put)", len(l))
	}
	for what, text := range map[string]string{"logs": r.logs.String(), "metrics": r.metrics.String(), "error": refusedErr.Error()} {
		if piece, found := leakcheck.Find(text, seen...); found {
			t.Errorf("%s contain %q, a piece of a secret", what, piece)
		}
		r.leaks(t, what, text)
	}
}

func (r *rig) status(t *testing.T) rotate.Status {
	t.Helper()
	ans, err := r.h.Invoke(t.Context(), json.RawMessage(`{"status": true}`))
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	st, ok := ans.(rotate.Status)
	if !ok {
		t.Fatalf("status answered %T", ans)
	}
	return st
}

// TestCredentialsChangedRequest: an operator proves a new value by hand,
// naming the secret by (partial) ARN: its one profile is refreshed.
func TestCredentialsChangedRequest(t *testing.T) {
	r := newRig(t)
	if _, err := r.invoke(t, scheduled); err != nil {
		t.Fatal(err)
	}
	r.moto.MustPutClientSecret(t, "oauth-clients/partner-sandbox", "partner-client", partnerSecret) // a new version
	before := r.idp.RequestCount()
	sum, err := r.invoke(t, `{"credentials_changed": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:oauth-clients/partner-sandbox"]}`)
	if err != nil || profilesOf(sum.Refreshed) != "partner-sandbox" || sum.Refreshed[0].TokenRequest != rotate.ReasonCredentialsChanged || r.idp.RequestCount()-before != 1 {
		t.Errorf("credentials_changed = %+v, %v, %d token requests; want partner-sandbox refreshed by one credentials-changed request", sum, err, r.idp.RequestCount()-before)
	}
}
