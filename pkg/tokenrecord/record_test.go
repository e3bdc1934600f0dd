package tokenrecord

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const token = "eyJhbGciOiJSUzI1NiJ9.payload.signature-xyz"

func sample() Record {
	issued := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	return Record{AccessToken: token, TokenType: "Bearer", Profile: "aviv-caas-agency-42", IssuedAt: issued, ExpiresAt: issued.Add(24 * time.Hour), Fingerprint: "v1:a:b"}
}

func TestMarshalMatchesContract(t *testing.T) {
	r := sample()
	r.IssuedAt = r.IssuedAt.Add(900 * time.Millisecond).In(time.FixedZone("CET", 3600))
	r.ExpiresAt = r.ExpiresAt.Add(999 * time.Millisecond)
	b, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"access_token":"` + token + `","token_type":"Bearer","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"aviv-caas-agency-42","fingerprint":"v1:a:b"}`
	if string(b) != want {
		t.Errorf("Marshal = %s; want %s (UTC, whole seconds, expires_at rounded down)", b, want)
	}
}

func TestParse(t *testing.T) {
	good, _ := Marshal(sample())
	got, err := Parse(good)
	if err != nil || got != sample() {
		t.Fatalf("Parse(Marshal(r)) = %v, %v; want r", got, err)
	}
	// Readers ignore fields they do not know, and records without a
	// fingerprint (written by other tools) are readable.
	other := `{"access_token":"abc","token_type":"Bearer","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"p","future_field":{"x":1}}`
	if r, err := Parse([]byte(other)); err != nil || r.AccessToken != "abc" || r.Fingerprint != "" {
		t.Errorf("Parse(unknown fields) = %v, %v; want it read", r, err)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"not json", `{"access_token":"` + token, "syntax error"},
		{"wrong type", `{"access_token":42}`, `field "access_token" has the wrong type`},
		{"bad time", `{"access_token":"a","expires_at":"tomorrow"}`, "RFC 3339"},
		{"no token", `{"expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"p"}`, "access_token is empty"},
		{"token with space", `{"access_token":"a b","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"p"}`, "white space"},
		{"no expiry", `{"access_token":"a","issued_at":"2026-11-22T10:00:00Z","profile":"p"}`, "expires_at is missing"},
		{"no issue time", `{"access_token":"a","expires_at":"2026-11-23T10:00:00Z","profile":"p"}`, "issued_at is missing"},
		{"expires before issue", `{"access_token":"a","expires_at":"2026-11-21T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"p"}`, "not after issued_at"},
		{"no profile", `{"access_token":"a","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z"}`, "profile is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%s) = %v; want ErrInvalid saying %q", tt.doc, err, tt.want)
			}
			if strings.Contains(err.Error(), "eyJhbGci") {
				t.Errorf("error %q quotes the token", err)
			}
		})
	}
}

// TestParseNesting: a record may nest 100 levels of objects and arrays
// (brackets inside strings do not count), and no more, in Go as in every
// reader (CPython's json.loads fails near 1,000).
func TestParseNesting(t *testing.T) {
	rec := func(levels int) []byte {
		future := strings.Repeat("[", levels-1) + `"]]{\\\"[{"` + strings.Repeat("]", levels-1)
		return []byte(`{"access_token":"abc","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"p","future":` + future + `}`)
	}
	if r, err := Parse(rec(100)); err != nil || r.AccessToken != "abc" {
		t.Errorf("Parse(a record nested 100 levels deep) = %v, %v; want it read", r, err)
	}
	for _, levels := range []int{101, 3000} {
		if _, err := Parse(rec(levels)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nested more than 100 levels") {
			t.Errorf("Parse(a record nested %d levels deep) = %v; want ErrInvalid saying it is nested too deeply", levels, err)
		}
	}
}

func TestValidAt(t *testing.T) {
	r := sample()
	tests := []struct {
		now  time.Time
		skew time.Duration
		want bool
	}{
		{r.IssuedAt, time.Minute, true},
		{r.ExpiresAt.Add(-61 * time.Second), time.Minute, true},
		{r.ExpiresAt.Add(-60 * time.Second), time.Minute, false},
		{r.ExpiresAt.Add(-time.Nanosecond), 0, true},
		{r.ExpiresAt, 0, false},
		{r.ExpiresAt.Add(time.Hour), 0, false},
	}
	for _, tt := range tests {
		if got := r.ValidAt(tt.now, tt.skew); got != tt.want {
			t.Errorf("ValidAt(%v, %v) = %v; want %v", tt.now, tt.skew, got, tt.want)
		}
	}
	if (Record{}).ValidAt(r.IssuedAt, 0) {
		t.Error("an empty record is valid; want not")
	}
}

func TestRedaction(t *testing.T) {
	r := sample()
	var js, txt strings.Builder
	slog.New(slog.NewJSONHandler(&js, nil)).Info("x", "record", r)
	slog.New(slog.NewTextHandler(&txt, nil)).Info("x", "record", r)
	for _, s := range []string{r.String(), fmt.Sprintf("%v|%+v|%#v|%s", r, r, r, r), js.String(), txt.String()} {
		if strings.Contains(s, token[:8]) || strings.Contains(s, "signature") {
			t.Errorf("output %q reveals the token", s)
		}
		if !strings.Contains(s, "aviv-caas-agency-42") {
			t.Errorf("output %q does not name the profile", s)
		}
	}
}

func TestParameterName(t *testing.T) {
	tests := []struct{ prefix, profile, want string }{
		{"", "p", "/oauth-tokens/p"},
		{"/oauth-tokens", "p", "/oauth-tokens/p"},
		{"/team/tokens/", "p", "/team/tokens/p"},
		{"team", "p", "/team/p"},
		{"/", "p", "/oauth-tokens/p"},
	}
	for _, tt := range tests {
		if got := ParameterName(tt.prefix, tt.profile); got != tt.want {
			t.Errorf("ParameterName(%q, %q) = %q; want %q", tt.prefix, tt.profile, got, tt.want)
		}
	}
}
