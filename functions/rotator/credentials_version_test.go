package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
)

// TestCredentialsEventWithoutANewCurrentValue: with CredentialsChangeEvents
// CloudTrail, every PutSecretValue and UpdateSecret of a secret under the
// prefix is an event, including a rotation's createSecret step, which
// stages the new value as AWSPENDING while AWSCURRENT, the value the
// rotator reads, stays the old one. Whether CloudTrail's record of that
// call carries requestParameters.versionStages (which the handler
// ignores a pending put by) is not documented, and no real record of one
// was found: this test sends the event without it, as
// events/cloudtrail-put-secret-value.json is. The run must not request a
// token with the old credentials (a request the reuse audit would excuse
// as credentials-changed, unnoticed): the stored tokens were issued with
// the secret's current version, so it skips them, saying so, and requests
// nothing. The finished rotation (the version made current) is proven
// with one request per profile, as any new value is.
func TestCredentialsEventWithoutANewCurrentValue(t *testing.T) {
	r := newRig(t)
	if _, err := r.invoke(t, scheduled); err != nil {
		t.Fatal(err)
	}
	current, _ := r.record(t, "aviv-leads-sandbox")
	if current.SecretVersion == "" {
		t.Fatalf("record %v: no secret version; want the version of the credentials it was issued with", current)
	}

	// createSecret: the new value staged AWSPENDING only.
	const pendingSecret = "Pq2Wx7Lm4Ns9Rt6Vb1Zc"
	r.idp.AddClient("aviv-client", pendingSecret)
	pending, err := r.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String("oauth-clients/aviv-sandbox"),
		SecretString: aws.String(`{"client_id":"aviv-client","client_secret":"` + pendingSecret + `"}`), VersionStages: []string{"AWSPENDING"}})
	if err != nil {
		t.Fatal(err)
	}
	before := r.idp.RequestCount()
	sum, err := r.invoke(t, string(readFile(t, "../../events/cloudtrail-put-secret-value.json")))
	if err != nil || profilesOf(sum.Skipped) != avivProfiles || len(sum.Refreshed)+len(sum.Failed) != 0 || r.idp.RequestCount() != before {
		t.Fatalf("PutSecretValue (AWSPENDING) = %+v, %v, %d token requests; want the three AVIV profiles skipped, no request", sum, err, r.idp.RequestCount()-before)
	}
	for _, o := range sum.Skipped {
		if !strings.Contains(o.Reason, "credentials unchanged") || !strings.Contains(o.Reason, current.SecretVersion) {
			t.Errorf("%s skipped for %q; want the unchanged current version named", o.Profile, o.Reason)
		}
	}

	// finishSecret makes the pending version AWSCURRENT. moto's
	// UpdateSecretVersionStage moves the label but not what its
	// GetSecretValue answers (probed on moto 5), so the new value is made
	// current by a PutSecretValue of it, as a rotation function that
	// skips staging would.
	finished, err := r.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String("oauth-clients/aviv-sandbox"),
		SecretString: aws.String(`{"client_id":"aviv-client","client_secret":"` + pendingSecret + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	sum, err = r.invoke(t, string(readFile(t, "../../events/cloudtrail-rotation-succeeded.json")))
	if err != nil || profilesOf(sum.Refreshed) != avivProfiles || r.idp.RequestCount()-before != 3 {
		t.Fatalf("RotationSucceeded = %+v, %v; want the three AVIV profiles refreshed, one request each", sum, err)
	}
	for _, q := range r.idp.Requests()[before:] {
		if !q.SecretOK {
			t.Errorf("token request %+v; want the new secret", q)
		}
	}
	if rec, _ := r.record(t, "aviv-leads-sandbox"); rec.SecretVersion != aws.ToString(finished.VersionId) || rec.SecretVersion == aws.ToString(pending.VersionId) {
		t.Errorf("record issued with version %q; want the current one %q", rec.SecretVersion, aws.ToString(finished.VersionId))
	}

	// The same event again: nothing new to prove.
	before = r.idp.RequestCount()
	if sum, err := r.invoke(t, string(readFile(t, "../../events/cloudtrail-rotation-succeeded.json"))); err != nil || len(sum.Skipped) != 3 || r.idp.RequestCount() != before {
		t.Errorf("RotationSucceeded again = %+v, %v; want the three skipped, no request", sum, err)
	}
	answer, _ := json.Marshal(sum)
	r.leaks(t, "answer", string(answer))
	if st := r.status(t); st.Counts[rotate.StateFailing] != 0 {
		t.Errorf("status: %v; want none failing", st.Counts)
	}
}
