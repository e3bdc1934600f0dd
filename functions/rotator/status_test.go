package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// manyProfiles is a document of n partner profiles sharing one secret;
// profile changed (when >= 0) has another audience.
func manyProfiles(idp *oauthtest.Server, n, changed int) []byte {
	var b strings.Builder
	b.WriteString("profiles:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: p-%02d\n    token_url: %s\n    secret_id: oauth-clients/partner-sandbox\n    headers: {Accept: application/json}\n    refresh_before: 10m\n",
			i, idp.TokenURL("partner"))
		if i == changed {
			b.WriteString("    audience: https://api.example.com/changed\n")
		}
	}
	return []byte(b.String())
}

// fastWrites lifts the write pacing, so that a test stores many records at
// once.
func fastWrites(env map[string]string, _ *handlerDeps) { env["ROTATOR_WRITE_RATE"] = "10000" }

// TestStatus: {"status": true} over 25 profiles lists each one with its
// stored record's times, whether it is due and why, whether its record was
// issued for its current configuration and, from the failure record, that
// one is failing and why. It makes ceil((25+1)/10) = 3 GetParameters calls
// (the records and the failure record, 10 names a call) and nothing else:
// no secret read, no token request, no write; neither its answer nor its
// logs hold a piece of a token or secret.
func TestStatus(t *testing.T) {
	const n = 25
	r := newRig(t)
	r.writeProfiles(t, manyProfiles(r.idp, n, -1))
	r.reload(t, fastWrites)
	if sum, err := r.invoke(t, scheduled); err != nil || len(sum.Refreshed) != n {
		t.Fatalf("first run = %d refreshed, %v; want %d", len(sum.Refreshed), err, n)
	}
	r.idp.Inject(oauthtest.Fault{Provider: "partner", Status: 401, Body: `{"error":"invalid_client","error_description":"client revoked"}`})
	if _, err := r.invoke(t, `{"force": true, "profiles": ["p-03"]}`); err == nil {
		t.Fatal("forced run of p-03 against a 401 succeeded")
	}
	admin, _ := r.moto.Clients(t)
	if _, err := admin.DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String("/oauth-tokens/p-07")}); err != nil {
		t.Fatal(err)
	}
	r.writeProfiles(t, manyProfiles(r.idp, n, 5))
	r.reload(t, fastWrites)

	r.proxy.Reset()
	tokens := r.idp.RequestCount()
	r.logs.Reset()
	ans, err := r.h.Invoke(t.Context(), json.RawMessage(readFile(t, "../../events/status.json")))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.proxy.Counts(), map[string]int{mototest.OpGetParameters: (n + 1 + 9) / 10}; fmt.Sprint(got) != fmt.Sprint(want) || r.idp.RequestCount() != tokens {
		t.Errorf("status made AWS calls %v and %d token requests; want %v and none", got, r.idp.RequestCount()-tokens, want)
	}
	st := ans.(rotate.Status)
	if len(st.Profiles) != n || st.Counts[rotate.StateFailing] != 1 || st.Counts[rotate.StateDue] != 2 || st.Counts[rotate.StateOK] != n-3 {
		t.Fatalf("status counts %v over %d rows; want 1 failing, 2 due, %d ok", st.Counts, len(st.Profiles), n-3)
	}
	for i, p := range st.Profiles {
		var want string
		switch p.Profile {
		case "p-03":
			want = "failing"
			if p.FailingSince == nil || !strings.Contains(p.Why, "invalid_client") {
				t.Errorf("p-03: %+v; want failing since the forced run, with the provider's reason", p)
			}
		case "p-05":
			want = "due"
			if p.Configuration != "changed" || !strings.Contains(p.Why, "configuration changed") {
				t.Errorf("p-05: %+v; want configuration changed, due", p)
			}
		case "p-07":
			want = "due"
			if i != 0 || p.ExpiresAt != nil || p.Configuration != "no record" || !strings.Contains(p.Why, "no stored token") {
				t.Errorf("p-07 (row %d): %+v; want first, due, no record", i, p)
			}
			continue
		default:
			want = "ok"
			if p.Configuration != "matches" {
				t.Errorf("%s: configuration %q; want matches", p.Profile, p.Configuration)
			}
		}
		rec, _ := r.record(t, p.Profile)
		if p.State != want || p.Parameter != "/oauth-tokens/"+p.Profile || !p.ExpiresAt.Equal(rec.ExpiresAt) || !p.IssuedAt.Equal(rec.IssuedAt) ||
			p.SecondsLeft == nil || *p.SecondsLeft < 3000 || p.RefreshAt == nil || !p.RefreshAt.Before(rec.ExpiresAt) {
			t.Errorf("%s: %+v; want state %s and the stored record's times (%s to %s)", p.Profile, p, want, rec.IssuedAt, rec.ExpiresAt)
		}
	}
	if !slices.IsSortedFunc(st.Profiles[1:], func(a, b rotate.ProfileStatus) int { return a.ExpiresAt.Compare(*b.ExpiresAt) }) {
		t.Error("rows are not sorted soonest expiry first")
	}
	answer, _ := json.Marshal(ans)
	r.leaks(t, "status answer", string(answer))
	r.leaks(t, "status logs", r.logs.String())
	if strings.Contains(string(answer), "access_token") {
		t.Errorf("status answer names access_token: %s", answer)
	}

	// An hour and a quarter later, with no run since: every stored token
	// has expired, due for longer than two runs: deferred.
	later := time.Now().Add(75 * time.Minute)
	r.reload(t, fastWrites, func(_ map[string]string, d *handlerDeps) { d.Now = func() time.Time { return later } })
	st = r.status(t)
	for _, p := range st.Profiles {
		if p.ExpiresAt != nil && p.Profile != "p-03" && p.Profile != "p-05" && (p.State != rotate.StateDeferred || p.TimeLeft != "expired") {
			t.Errorf("%s 75 minutes later: %s, %s (%s); want deferred, expired", p.Profile, p.State, p.TimeLeft, p.Why)
		}
	}
}

// TestStatusRequest: only exactly {"status": true} is a status request.
func TestStatusRequest(t *testing.T) {
	for payload, want := range map[string]bool{
		`{"status": true}`: true, `{"status":true}`: true, string(readFile(t, "../../events/status.json")): true,
		`{"status": false}`: false, `{"status": true, "force": true}`: false, `{}`: false, ``: false, `{"force": true}`: false,
	} {
		if got := isStatus(json.RawMessage(payload)); got != want {
			t.Errorf("isStatus(%s) = %v; want %v", payload, got, want)
		}
	}
}

// TestFailureRecordIsReserved: a profile whose record would be the
// failure record is refused with the document, naming it.
func TestFailureRecordIsReserved(t *testing.T) {
	ps := []profile.Profile{{Name: "a", Parameter: "/oauth-tokens/a"}, {Name: ".rotator.failures", Parameter: "/oauth-tokens/.rotator.failures"}}
	if err := checkReserved(ps, "/oauth-tokens"); err == nil || !strings.Contains(err.Error(), `".rotator.failures"`) {
		t.Errorf("checkReserved = %v; want the profile named", err)
	}
	if err := checkReserved(ps[:1], "/oauth-tokens"); err != nil {
		t.Errorf("checkReserved(a) = %v; want nil", err)
	}
}
