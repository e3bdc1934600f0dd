package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

// TestOnDemandRunWhileLeaseHeld: a credential change (or a forced run)
// that comes while another run holds the run lease (a run that died
// holds it until its lease expires, up to the function's timeout) is not
// done, and must not pass as done. Each of its profiles fails, saying so
// and giving the invocation to resend, so the invocation errors (the
// rotator-errors and profiles-failed alarms, the event in
// RotatorFailureQueue) and status shows them failing. No token is
// requested and no stored token changes. Once the lease is free, the
// invocation the reason gives is the one that proves the new value: here
// a mistyped one, which it refuses.
func TestOnDemandRunWhileLeaseHeld(t *testing.T) {
	r := newRig(t)
	if _, err := r.invoke(t, scheduled); err != nil {
		t.Fatal(err)
	}
	release, err := (&tokenstore.Store{API: r.ssm}).Lease(t.Context(), rotate.RunLease("/oauth-tokens"), "dead-run", time.Now(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const wrong = "Wrong7Secret3Value9Xy"
	r.moto.MustPutClientSecret(t, "oauth-clients/aviv-sandbox", "aviv-client", wrong)
	_, stored := r.record(t, "aviv-leads-sandbox")
	before, metrics := r.idp.RequestCount(), r.metrics.Len()

	sum, err := r.invoke(t, string(readFile(t, "../../events/secret-label-updated.json")))
	var runErr *rotate.RunError
	if !errors.As(err, &runErr) || profilesOf(sum.Failed) != avivProfiles || len(sum.Refreshed)+len(sum.Skipped) != 0 {
		t.Fatalf("Secret Label Updated while the lease is held = %+v, %v; want a RunError failing the three AVIV profiles", sum, err)
	}
	const resend = `{"credentials_changed": ["oauth-clients/aviv-sandbox"]}`
	for _, o := range sum.Failed {
		if !strings.Contains(o.Reason, "holds the run lease") || !strings.Contains(o.Reason, resend) {
			t.Errorf("%s: reason %q; want the lease named and the invocation to resend, %s", o.Profile, o.Reason, resend)
		}
	}
	if !strings.Contains(err.Error(), resend) {
		t.Errorf("error %q does not give the invocation to resend", err)
	}
	if got := runMetric(t, r.metrics.String()[metrics:], "ProfilesFailed"); got != 3 {
		t.Errorf("ProfilesFailed = %v; want 3 (the profiles-failed alarm)", got)
	}
	if n := r.idp.RequestCount() - before; n != 0 {
		t.Errorf("%d token requests while another run held the lease; want none", n)
	}
	if _, after := r.record(t, "aviv-leads-sandbox"); after != stored {
		t.Error("the stored record changed")
	}
	if st := r.status(t); st.Counts[rotate.StateFailing] != 3 {
		t.Errorf("status: %v; want the three AVIV profiles failing until the change is proven", st.Counts)
	}

	// A forced run is refused the same way, naming its own invocation.
	sum, err = r.invoke(t, `{"force": true, "profiles": ["partner-sandbox"]}`)
	if !errors.As(err, &runErr) || profilesOf(sum.Failed) != "partner-sandbox" ||
		!strings.Contains(sum.Failed[0].Reason, `{"force": true, "profiles": ["partner-sandbox"]}`) {
		t.Errorf("forced run while the lease is held = %+v, %v; want partner-sandbox failed, giving the invocation to resend", sum, err)
	}

	// The lease freed, the invocation the reason gives proves the value:
	// the mistyped secret is refused (invalid_client), the tokens stay.
	release(t.Context())
	var req rotate.Request
	if err := json.Unmarshal([]byte(resend), &req); err != nil {
		t.Fatal(err)
	}
	sum, err = r.invoke(t, resend)
	if !errors.As(err, &runErr) || profilesOf(sum.Failed) != avivProfiles || !strings.Contains(sum.Failed[0].Reason, "invalid_client") {
		t.Errorf("the resent invocation = %+v, %v; want the three AVIV profiles refused by the provider", sum, err)
	}
	if _, after := r.record(t, "aviv-leads-sandbox"); after != stored {
		t.Error("the refused value changed the stored record")
	}
}
