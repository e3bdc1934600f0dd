package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
)

// auditQuery is the reuse audit of docs/operating.md, a CloudWatch Logs
// Insights query over the rotator's log group. auditRows computes what it
// computes; TestReuseAuditQueryIsDocumented keeps the two together.
const auditQuery = `fields profile, token_request, attempts, replaced_after_s / previous_lifetime_s as reuse, lifetime_s, early_request
| filter ispresent(token_request)
| stats count(*) as requests, sum(attempts) as http_requests, count(early_request) as early, avg(reuse) as avg_reuse, min(reuse) as min_reuse, max(lifetime_s) as lifetime_s by profile, token_request
| sort profile asc, token_request asc`

// auditRow is one row the query prints: Requests token requests (one per
// fetch), HTTPRequests the POSTs they sent, retries included.
type auditRow struct {
	Profile, Reason      string
	Requests, Early      int
	HTTPRequests         int
	AvgReuse, MinReuse   float64 // NaN-free: -1 when no request had a previous token
	LifetimeS            float64
	reuseSum, reuseCount float64
	maxReuse             float64 // not in the query: for TestReuseAudit's bounds
}

// auditRows computes auditQuery over JSON log lines: per profile and
// reason, the token requests, the HTTP requests they sent (Logs Insights'
// sum skips lines without attempts), how many were early, and the share of its
// lifetime each replaced token had been used (Logs Insights' avg and min
// skip the requests that replaced no token).
func auditRows(lines []string) []auditRow {
	rows := map[[2]string]*auditRow{}
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		reason, ok := m["token_request"].(string)
		if !ok {
			continue
		}
		profile, _ := m["profile"].(string)
		key := [2]string{profile, reason}
		row := rows[key]
		if row == nil {
			row = &auditRow{Profile: profile, Reason: reason, MinReuse: -1, AvgReuse: -1}
			rows[key] = row
		}
		row.Requests++
		if n, ok := m["attempts"].(float64); ok {
			row.HTTPRequests += int(n)
		}
		if _, early := m["early_request"]; early {
			row.Early++
		}
		after, ok1 := m["replaced_after_s"].(float64)
		prev, ok2 := m["previous_lifetime_s"].(float64)
		if ok1 && ok2 && prev > 0 {
			reuse := after / prev
			row.reuseSum, row.reuseCount = row.reuseSum+reuse, row.reuseCount+1
			row.AvgReuse = row.reuseSum / row.reuseCount
			if row.MinReuse < 0 || reuse < row.MinReuse {
				row.MinReuse = reuse
			}
			row.maxReuse = max(row.maxReuse, reuse)
		}
		if lt, ok := m["lifetime_s"].(float64); ok && lt > row.LifetimeS {
			row.LifetimeS = lt
		}
	}
	out := make([]auditRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b auditRow) int {
		return strings.Compare(a.Profile+"\x00"+a.Reason, b.Profile+"\x00"+b.Reason)
	})
	return out
}

// TestReuseAudit runs the rotator's schedule every 5 minutes for 26 hours
// of a fake clock against moto and the fake providers (AVIV 24 h, Pliant
// 10 h, partner 1 h tokens), then for the last hour adds a profile whose
// refresh_before is longer than its tokens' lifetime. Over the real log
// lines of those runs, the reuse audit query prints one request per
// profile per lifetime (the first fill as "missing", then "expiring"
// requests that each replace a token used for most of its lifetime, none
// early), and the misconfigured profile's every request as early: what the
// early-token-requests alarm (EarlyTokenRequests) counts.
func TestReuseAudit(t *testing.T) {
	r := newRig(t)
	var mu sync.Mutex
	now := time.Now().UTC()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	withClock := func(_ map[string]string, d *handlerDeps) { d.Now = clock }
	r.reload(t, fastWrites, withClock)
	const span, step = 26 * time.Hour, 5 * time.Minute
	sandbox := readFile(t, r.file)
	bad := "  - name: partner-too-eager\n    token_url: " + r.idp.TokenURL("partner") +
		"\n    secret_id: oauth-clients/partner-sandbox\n    headers: {Accept: application/json}\n    refresh_before: 2h\n"
	var early float64
	for elapsed := time.Duration(0); elapsed < span; elapsed += step {
		if elapsed == span-time.Hour {
			r.writeProfiles(t, append(slices.Clone(sandbox), bad...))
			r.reload(t, fastWrites, withClock)
		}
		r.metrics.Reset()
		if _, err := r.invoke(t, scheduled); err != nil {
			t.Fatalf("run at +%s: %v", elapsed, err)
		}
		early += runMetric(t, r.metrics.String(), "EarlyTokenRequests")
		mu.Lock()
		now = now.Add(step)
		mu.Unlock()
	}

	rows := auditRows(strings.Split(r.logs.String(), "\n"))
	byKey := map[string]auditRow{}
	for _, row := range rows {
		byKey[row.Profile+"/"+row.Reason] = row
		t.Logf("%-28s %-10s requests %3d http_requests %3d early %3d avg_reuse %.2f min_reuse %.2f lifetime_s %.0f",
			row.Profile, row.Reason, row.Requests, row.HTTPRequests, row.Early, row.AvgReuse, row.MinReuse, row.LifetimeS)
		if row.HTTPRequests != row.Requests {
			t.Errorf("%s/%s: %d token requests, %d HTTP requests; want one each (no endpoint failed)", row.Profile, row.Reason, row.Requests, row.HTTPRequests)
		}
	}
	for name, tok := range sandboxTokens {
		first, exp := byKey[name+"/missing"], byKey[name+"/expiring"]
		// Requests per lifetime: every token after the first is replaced
		// once, after most of its lifetime: within the due rule's bounds.
		want := int(span / tok.lifetime)
		lo, hi := healthyReuse(tok.lifetime, tok.refreshBefore)
		if first.Requests != 1 || exp.Requests < want-1 || exp.Requests > int(float64(span)/(lo*float64(tok.lifetime))) ||
			exp.Early != 0 || exp.MinReuse < lo-0.005 || exp.maxReuse > hi+0.005 || exp.LifetimeS != tok.lifetime.Seconds() {
			t.Errorf("%s: first fill %+v, then %+v (max reuse %.2f); want 1 missing, then about %d expiring requests, none early, each replacing a token used for %.2f to %.2f of its lifetime",
				name, first, exp, exp.maxReuse, want, lo, hi)
		}
	}
	eager := byKey["partner-too-eager/expiring"]
	if miss := byKey["partner-too-eager/missing"]; miss.Requests != 1 || eager.Requests != 11 || eager.Early != 11 || eager.MinReuse > 0.1 {
		t.Errorf("partner-too-eager: %+v then %+v; want its first token, then a request on each of the 11 later runs, every one early", miss, eager)
	}
	if early != 11 {
		t.Errorf("EarlyTokenRequests summed over the runs = %v; want 11 (the alarm's metric)", early)
	}
	for _, row := range rows {
		if row.Reason != string(rotate.ReasonMissing) && row.Reason != string(rotate.ReasonExpiring) {
			t.Errorf("unexpected audit row %+v: only missing and expiring requests were made", row)
		}
	}
}

// sandboxTokens are the lifetimes of the fake providers' tokens and the
// refresh_before of profiles/sandbox.yaml.
var sandboxTokens = map[string]struct{ lifetime, refreshBefore time.Duration }{
	"aviv-leads-sandbox": {24 * time.Hour, 15 * time.Minute}, "aviv-caas-sandbox-agency-42": {24 * time.Hour, 15 * time.Minute},
	"aviv-caas-sandbox-agency-43": {24 * time.Hour, 15 * time.Minute}, "pliant-staging": {10 * time.Hour, 30 * time.Minute},
	"partner-sandbox": {time.Hour, 10 * time.Minute},
}

// healthyReuse is the share of its lifetime a token is used before the
// due rule replaces it, at the default spread and schedule: at least
// (lifetime - refresh_before - spread window), at most (lifetime -
// refresh_before + one schedule interval, the run that finds it due).
func healthyReuse(lifetime, refreshBefore time.Duration) (lo, hi float64) {
	w := (&rotate.Rotator{}).SpreadWindow(profile.Profile{RefreshBefore: refreshBefore}, lifetime)
	return float64(lifetime-refreshBefore-w) / float64(lifetime), float64(lifetime-refreshBefore+rotate.DefaultInterval) / float64(lifetime)
}

// TestHealthyReuseIsDocumented: docs/operating.md and earlyShare's comment
// give the same healthy-reuse figures, the due rule's bounds that
// TestReuseAudit checks the measured reuse against.
func TestHealthyReuseIsDocumented(t *testing.T) {
	for _, path := range []string{"../../docs/operating.md", "../../internal/rotate/reasons.go"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(strings.ReplaceAll(string(b), "//", "")), " ")
		for _, tok := range []struct {
			what                    string
			lifetime, refreshBefore time.Duration
		}{{"1 h", time.Hour, 10 * time.Minute}, {"24 h", 24 * time.Hour, 15 * time.Minute}} {
			lo, hi := healthyReuse(tok.lifetime, tok.refreshBefore)
			if want := fmt.Sprintf("%.2f to %.2f", lo, hi); !strings.Contains(text, want) {
				t.Errorf("%s does not give %q for %s tokens with refresh_before %s (the due rule's bounds)", path, want, tok.what, tok.refreshBefore)
			}
		}
	}
}

// runMetric returns the value of metric in the run's EMF line (the one
// with only the Environment dimension).
func runMetric(t *testing.T, emfLines, metric string) float64 {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(emfLines), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("EMF line %q: %v", l, err)
		}
		if _, perProfile := m["Profile"]; !perProfile {
			if v, ok := m[metric].(float64); ok {
				return v
			}
		}
	}
	t.Fatalf("no run line with %s in %s", metric, emfLines)
	return 0
}

// TestReuseAuditQueryIsDocumented: docs/operating.md prints the query
// whose results auditRows computes.
func TestReuseAuditQueryIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operating.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- BEGIN audit-query -->\n```\n")
	query, _, ok2 := strings.Cut(rest, "\n```\n<!-- END audit-query -->")
	if !ok || !ok2 || query != auditQuery {
		t.Errorf("docs/operating.md audit query =\n%s\nwant (the query auditRows computes):\n%s", query, auditQuery)
	}
}
