package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

func TestSameSecret(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
	tests := []struct {
		a, b string
		want bool
	}{
		{"oauth-clients/aviv", "oauth-clients/aviv", true},
		{"oauth-clients/aviv", arn + "oauth-clients/aviv-a1B2c3", true},
		{arn + "oauth-clients/aviv", arn + "oauth-clients/aviv-a1B2c3", true},
		{arn + "oauth-clients/aviv", "oauth-clients/aviv", true},
		{arn + "oauth-clients/aviv-a1B2c3", arn + "oauth-clients/aviv-a1B2c3", true},
		{"oauth-clients/aviv", "oauth-clients/aviv-sandbox", false},
		{"oauth-clients/aviv", arn + "oauth-clients/aviv-sandbox-a1B2c3", false},
		{"oauth-clients/aviv-sandbox", arn + "oauth-clients/aviv-a1B2c3", false},
		{"oauth-clients/aviv", arn + "oauth-clients/aviv2-a1B2c3", false},
		{"oauth-clients/aviv", "arn:aws:sns:eu-west-1:123456789012:oauth-clients/aviv", false},
	}
	for _, tt := range tests {
		if got := sameSecret(tt.a, tt.b); got != tt.want {
			t.Errorf("sameSecret(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
		if got := sameSecret(tt.b, tt.a); got != tt.want {
			t.Errorf("sameSecret(%q, %q) = %v; want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestRequestReasonAndEarly(t *testing.T) {
	p := profile.Profile{Name: "p", TokenURL: "https://idp.example.com/token", RefreshBefore: 15 * time.Minute}
	issued := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	stored := func(used float64) *tokenstore.Stored {
		return &tokenstore.Stored{Record: tokenrecord.Record{Profile: "p", IssuedAt: issued, ExpiresAt: issued.Add(time.Hour),
			Fingerprint: fingerprint(p, "client")}}
	}
	at := func(share float64) time.Time { return issued.Add(time.Duration(share * float64(time.Hour))) }
	other := stored(0)
	other.Record.Fingerprint = "v1:0000:" + clientHash("client")
	tests := []struct {
		name      string
		st        *tokenstore.Stored
		cause     Reason
		sent      time.Time
		want      Reason
		early     bool
		replaced  time.Duration
		prevLife  time.Duration
		noHistory bool
	}{
		{name: "no record", st: nil, sent: at(0.1), want: ReasonMissing, noHistory: true},
		{name: "unreadable", st: &tokenstore.Stored{Err: errors.New("bad")}, sent: at(0.1), want: ReasonUnreadable, noHistory: true},
		{name: "another configuration", st: other, sent: at(0.1), want: ReasonConfigChanged, replaced: 6 * time.Minute, prevLife: time.Hour},
		{name: "expiring after most of its lifetime", st: stored(0), sent: at(0.8), want: ReasonExpiring, replaced: 48 * time.Minute, prevLife: time.Hour},
		{name: "expiring after a third of its lifetime", st: stored(0), sent: at(0.3), want: ReasonExpiring, early: true, replaced: 18 * time.Minute, prevLife: time.Hour},
		{name: "forced early is excused", st: stored(0), cause: ReasonForced, sent: at(0.1), want: ReasonForced, replaced: 6 * time.Minute, prevLife: time.Hour},
		{name: "new credentials early are excused", st: stored(0), cause: ReasonCredentialsChanged, sent: at(0.1), want: ReasonCredentialsChanged, replaced: 6 * time.Minute, prevLife: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &state{p: p, stored: tt.st, cause: tt.cause}
			due, _ := (&Rotator{}).isDue(p, tt.st, tt.sent)
			s.request(tt.sent, due)
			if s.requested != tt.want || s.early != tt.early || s.replacedAfter != tt.replaced || s.prevLifetime != tt.prevLife {
				t.Errorf("request = %s, early %v, replaced after %s of %s; want %s, %v, %s of %s",
					s.requested, s.early, s.replacedAfter, s.prevLifetime, tt.want, tt.early, tt.replaced, tt.prevLife)
			}
		})
	}
}

func TestFailureRecordUpdate(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	old := failures{Failing: map[string]failure{
		"a": {Since: t0, Reason: "401"}, "b": {Since: t0, Reason: "503"}, "gone": {Since: t0, Reason: "x"},
	}}
	st := func(name string, a Action, reason string) *state {
		return &state{p: profile.Profile{Name: name}, outcome: Outcome{Action: a, Reason: reason}}
	}
	known := map[string]bool{"a": true, "b": true, "c": true}
	next := old.update([]*state{st("a", Failed, "401 again"), st("b", Refreshed, ""), st("c", Failed, "timeout")}, known, t0.Add(time.Hour))
	want := map[string]failure{"a": {Since: t0, Reason: "401 again"}, "c": {Since: t0.Add(time.Hour), Reason: "timeout"}}
	if fmt.Sprint(next.Failing) != fmt.Sprint(want) {
		t.Errorf("update = %v; want %v (a still failing since t0, b refreshed, c new, gone dropped)", next.Failing, want)
	}
	if next.sameAs(old) || !next.sameAs(parseFailures(next.encode(t0.Add(2*time.Hour)))) {
		t.Error("sameAs: a changed record reads as the same, or a re-read one as changed")
	}
	if parsed := parseFailures("not json"); len(parsed.Failing) != 0 {
		t.Errorf("parseFailures(garbage) = %+v; want empty", parsed)
	}
}

// TestFailureRecordFitsAStandardParameter: however many profiles fail and
// however long their reasons, the record stays within 4 KiB, keeping
// reasons as long as it can, then names, then counting the rest.
func TestFailureRecordFitsAStandardParameter(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, n := range []int{1, 10, 40, 1000} {
		f := failures{Failing: map[string]failure{}}
		for i := range n {
			f.Failing[fmt.Sprintf("profile-%04d", i)] = failure{Since: t0.Add(time.Duration(i) * time.Second), Reason: strings.Repeat("é rejected ", 40)}
		}
		raw := f.encode(t0)
		got := parseFailures(raw)
		if len(raw) > tokenstore.StandardLimit || len(got.Failing)+got.Omitted != n {
			t.Errorf("%d failing: %d bytes, %d listed + %d omitted; want at most %d bytes, all counted", n, len(raw), len(got.Failing), got.Omitted, tokenstore.StandardLimit)
		}
		for name, fl := range got.Failing {
			if !utf8.ValidString(fl.Reason) || len(fl.Reason) > maxReason {
				t.Errorf("%d failing: %s's reason %q (%d bytes); want valid UTF-8, at most %d bytes", n, name, fl.Reason, len(fl.Reason), maxReason)
			}
		}
		if n == 1000 && got.Failing["profile-0000"].Since.IsZero() {
			t.Error("the oldest failure was omitted; want the newest left out first")
		}
	}
}

// TestStatusPacesReads: status reads 25 records in three batches with
// statusReadInterval between calls, so that a status over many profiles
// stays under Parameter Store's read quota.
func TestStatusPacesReads(t *testing.T) {
	store := newMemStore()
	var ps []profile.Profile
	for i := range 25 {
		ps = append(ps, profile.Profile{Name: fmt.Sprintf("p-%02d", i), Parameter: fmt.Sprintf("/t/p-%02d", i)})
	}
	var waits []time.Duration
	r := &Rotator{Profiles: ps, Store: store, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	st, err := r.Status(context.Background())
	if err != nil || len(st.Profiles) != 25 || st.Counts[StateDue] != 25 {
		t.Fatalf("Status = %+v, %v; want 25 rows, due (no records)", st, err)
	}
	if store.reads != 3 || len(waits) != 2 {
		t.Fatalf("reads %d with waits %v; want 3 batches and 2 waits", store.reads, waits)
	}
	for _, w := range waits {
		if w <= 0 || w > statusReadInterval {
			t.Errorf("wait %s between reads; want up to %s", w, statusReadInterval)
		}
	}
}
