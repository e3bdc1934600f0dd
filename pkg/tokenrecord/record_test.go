package tokenrecord

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
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

// TestParseLikeEveryReader: Parse reads a record as the Python and Node
// readers do (TestReaders compares them on these forms too): keys matched
// exactly, a time's JSON string decoded before it is read, RFC 3339 with
// '.' before the fraction, offsets up to 23:59, the year 0001 or later.
func TestParseLikeEveryReader(t *testing.T) {
	rec := func(rest string) []byte {
		return []byte(`{"access_token":"abc","issued_at":"2026-11-22T10:00:00Z",` + rest + `}`)
	}
	exp := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, rest string
		profile    string // "": refused
		expiresAt  time.Time
	}{
		{"a JSON escape in a time", `"expires_at":"2026-11-23T10:00:00\u005a","profile":"p"`, "p", exp},
		{"a fraction of 12 digits", `"expires_at":"2026-11-23T10:00:00.123456789123Z","profile":"p"`, "p", exp.Add(123456789)},
		{"an offset of 23:59", `"expires_at":"2026-11-24T09:59:00+23:59","profile":"p"`, "p", exp},
		{"profile, then a case-variant Profile", `"expires_at":"2026-11-23T10:00:00Z","profile":"p","Profile":"other"`, "p", exp},
		{"a key repeated: the last counts", `"expires_at":"2026-11-23T10:00:00Z","profile":"other","profile":"p"`, "p", exp},
		{"upper-case keys", `"EXPIRES_AT":"2026-11-23T10:00:00Z","PROFILE":"p"`, "", time.Time{}},
		{"a comma before the fraction", `"expires_at":"2026-11-23T10:00:00,5Z","profile":"p"`, "", time.Time{}},
		{"a '.' without digits", `"expires_at":"2026-11-23T10:00:00.Z","profile":"p"`, "", time.Time{}},
		{"an offset of 24:00", `"expires_at":"2026-11-24T10:00:00+24:00","profile":"p"`, "", time.Time{}},
		{"an offset of 00:60", `"expires_at":"2026-11-23T09:00:00-00:60","profile":"p"`, "", time.Time{}},
		{"second 60", `"expires_at":"2026-11-23T09:59:60Z","profile":"p"`, "", time.Time{}},
		{"February 30th", `"expires_at":"2027-02-30T10:00:00Z","profile":"p"`, "", time.Time{}},
		{"a lower-case t", `"expires_at":"2026-11-23t10:00:00Z","profile":"p"`, "", time.Time{}},
		{"the year 0000", `"expires_at":"2026-11-23T10:00:00Z","profile":"p","issued_at":"0000-01-01T00:00:00Z"`, "", time.Time{}},
		{"NaN in an unknown field", `"expires_at":"2026-11-23T10:00:00Z","profile":"p","x":NaN`, "", time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(rec(tt.rest))
			switch {
			case tt.profile == "" && !errors.Is(err, ErrInvalid):
				t.Fatalf("Parse(%s) = %v, %v; want ErrInvalid", rec(tt.rest), r, err)
			case tt.profile != "" && (err != nil || r.Profile != tt.profile || !r.ExpiresAt.Equal(tt.expiresAt) || r.ExpiresAt.Location() != time.UTC):
				t.Fatalf("Parse(%s) = %v (expires_at %s), %v; want profile %q, expires_at %s", rec(tt.rest), r, r.ExpiresAt.Format(time.RFC3339Nano), err, tt.profile, tt.expiresAt.Format(time.RFC3339Nano))
			}
		})
	}
}

// TestParseReadsEveryField: every field of Record (each a string or a
// time) comes back from Parse(Marshal(r)): Parse reads the fields by their
// JSON keys, and a field added to Record must not be dropped.
func TestParseReadsEveryField(t *testing.T) {
	var r Record
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i).Addr().Interface().(type) {
		case *string:
			*f = fmt.Sprintf("value-%d", i)
		case *time.Time:
			*f = time.Date(2026, 11, 22, 10, i, 0, 0, time.UTC)
		default:
			t.Fatalf("Record.%s is a %T; Parse reads only strings and times", v.Type().Field(i).Name, f)
		}
	}
	r.ExpiresAt = r.IssuedAt.Add(time.Hour)
	b, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Parse(b); err != nil || got != r {
		t.Errorf("Parse(Marshal(%#v)) = %#v, %v; want every field back", r, got, err)
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
