package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// TestReuseAuditCountsHTTPRequests: the audit handed to a partner's
// reviewer must not under-count what the provider saw. The token endpoint
// answers 503 then 200: the client's retry sends two POSTs for one token
// request, either of which the provider may have counted. Then it answers
// 503 to every attempt, and the refused request sent as many POSTs as the
// client's attempts. The profile's log line carries attempts, the run's
// answer too, and the audit query's http_requests, summed over the run's
// real log lines, is exactly the number of POSTs the endpoint received.
func TestReuseAuditCountsHTTPRequests(t *testing.T) {
	r := newRig(t)
	if _, err := r.invoke(t, scheduled); err != nil {
		t.Fatal(err)
	}
	const force = `{"force": true, "profiles": ["partner-sandbox"]}`

	r.idp.Inject(oauthtest.Fault{Provider: "partner", Status: 503})
	sum, err := r.invoke(t, force)
	if err != nil || len(sum.Refreshed) != 1 || sum.Refreshed[0].Attempts != 2 {
		t.Fatalf("forced run through a 503 = %+v, %v; want partner-sandbox refreshed after 2 attempts", sum, err)
	}

	r.idp.Inject(oauthtest.Fault{Provider: "partner", Status: 503, Times: 100})
	sum, err = r.invoke(t, force)
	var runErr *rotate.RunError
	if !errors.As(err, &runErr) || len(sum.Failed) != 1 || sum.Failed[0].Attempts != 4 || !strings.Contains(err.Error(), "after 4 attempt(s)") {
		t.Fatalf("forced run through 503s = %+v, %v; want partner-sandbox failed after 4 attempts (the client's default), saying so", sum, err)
	}

	lines := jsonLines(t, r.logs.String(), "profile ")
	var withAttempts int
	for _, l := range lines {
		if _, ok := l["token_request"]; ok {
			if n, ok := l["attempts"].(float64); !ok || n < 1 {
				t.Errorf("log line %v: a token request without attempts", l)
			}
			withAttempts++
		}
	}
	rows := auditRows(strings.Split(r.logs.String(), "\n"))
	var requests, posts int
	for _, row := range rows {
		requests += row.Requests
		posts += row.HTTPRequests
		if row.Profile == "partner-sandbox" && row.Reason == string(rotate.ReasonForced) && (row.Requests != 2 || row.HTTPRequests != 6) {
			t.Errorf("audit row %+v; want 2 forced token requests, 6 HTTP requests (2 + 4)", row)
		}
	}
	if seen := r.idp.RequestCount(); posts != seen || requests != withAttempts || requests != 7 {
		t.Errorf("audit: %d token requests, %d HTTP requests; the endpoint received %d POSTs; want 7 token requests (5 first, 2 forced) and every POST counted",
			requests, posts, seen)
	}
}
