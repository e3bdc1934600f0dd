package readers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// A step of a case. Exactly one of the fields says what it does.
type step struct {
	put      string        // the Go side writes this value to the case's parameter (profileMark replaced)
	get      string        // a get must serve the token with this label ("" when want is set)
	wantKind string        // a get must fail with this error kind
	advance  time.Duration // the reader's clock moves on
	age      bool          // the maximum age passes: clock + 301 s, SDK caches cleared
	fail     bool          // every GetParameter from now on fails (AccessDeniedException)
}

type readerCase struct {
	name  string
	steps []step
	reads int // GetParameter calls expected
	// extReads, when not zero, is the count for the Extension recipe, whose
	// stand-in reads once and whose recipe reads again itself when the
	// stand-in's copy is unusable.
	extReads int
}

const hour = time.Hour

// profileMark stands for the profile of the case's parameter in a record.
const profileMark = "@PROFILE@"

// tokens are long and random-looking, so that leakcheck finds any 8-byte
// piece of them.
func tokenFor(label string, size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", label, i)))
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return "tok" + b.String()[:size-3]
}

// labelSize is the size of each label's token (see cases).
func labelSize(label string) int {
	if label == "big" {
		return 3900
	}
	return 48
}

// rec returns a record value for the case's profile whose access_token is
// the labelled token, issued at now (an hour before its expiry when that
// is earlier), expiring at now+in.
func rec(now time.Time, label string, in time.Duration, extra string) string {
	exp, iss := now.Add(in), now
	if in < hour {
		iss = exp.Add(-hour)
	}
	return fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_at":%q,"issued_at":%q,"profile":%q%s}`,
		tokenFor(label, labelSize(label)), exp.UTC().Format(time.RFC3339), iss.UTC().Format(time.RFC3339), profileMark, extra)
}

// cases are the timelines every reader must follow. Each runs on a driver
// of its own, whose clock it moves.
func cases(now time.Time) []readerCase {
	notJSON := tokenFor("notjson", 40) // a bare token where the record should be
	exp := now.Add(hour).UTC().Format(time.RFC3339)
	var missing []step
	for range 10 {
		missing = append(missing, step{wantKind: "not_found"})
	}
	return []readerCase{
		{name: "valid", reads: 1, steps: []step{
			{put: rec(now, "A", hour, "")}, {get: "A"}, {get: "A"}, {get: "A"}}},
		{name: "cached token comes inside the skew", reads: 2, steps: []step{
			{put: rec(now, "A", hour, "")}, {get: "A"},
			{advance: hour - 30*time.Second}, {put: rec(now, "B", 2*hour, "")}, {get: "B"}, {get: "B"}}},
		{name: "fresh record inside the skew", reads: 1, extReads: 2, steps: []step{
			{put: rec(now, "A", 30*time.Second, "")}, {wantKind: "expired"}}},
		{name: "cached token expires, no new record", reads: 2, steps: []step{
			{put: rec(now, "A", hour, "")}, {get: "A"}, {advance: hour + time.Minute}, {wantKind: "expired"}}},
		{name: "expired record", reads: 1, extReads: 2, steps: []step{
			{put: rec(now, "A", -10*time.Second, "")}, {wantKind: "expired"}}},
		{name: "not JSON", reads: 1, extReads: 2, steps: []step{{put: notJSON}, {wantKind: "unreadable"}}},
		{name: "missing access_token", reads: 1, extReads: 2, steps: []step{
			{put: fmt.Sprintf(`{"token_type":"Bearer","expires_at":%q}`, exp)}, {wantKind: "unreadable"}}},
		{name: "empty access_token", reads: 1, extReads: 2, steps: []step{
			{put: fmt.Sprintf(`{"access_token":"","expires_at":%q}`, exp)}, {wantKind: "unreadable"}}},
		{name: "access_token not a string", reads: 1, extReads: 2, steps: []step{
			{put: fmt.Sprintf(`{"access_token":null,"expires_at":%q}`, exp)}, {wantKind: "unreadable"}}},
		{name: "JSON null", reads: 1, extReads: 2, steps: []step{{put: "null"}, {wantKind: "unreadable"}}},
		{name: "unknown fields", reads: 1, steps: []step{
			{put: rec(now, "A", hour, `,"fingerprint":"f00","future":{"nested":[1,2,{"x":null}]}`)}, {get: "A"}, {get: "A"}}},
		{name: "missing parameter", reads: 1, extReads: 2, steps: []step{{wantKind: "not_found"}}},
		{name: "4 KiB record", reads: 1, steps: []step{{put: rec(now, "big", hour, "")}, {get: "big"}, {get: "big"}}},
		{name: "rotated record read after the maximum age", reads: 2, steps: []step{
			{put: rec(now, "A", 2*hour, "")}, {get: "A"}, {put: rec(now, "B", 3*hour, "")}, {get: "A"},
			{age: true}, {get: "B"}}},
		{name: "a failing parameter is read at most once per 5 s", reads: 2, extReads: 3, steps: []step{
			{put: rec(now, "A", -10*time.Second, "")}, {wantKind: "expired"}, {wantKind: "expired"},
			{advance: 6 * time.Second}, {wantKind: "expired"}}},
		// The minimum read interval covers the whole call, the Extension's
		// read included: ten calls on a missing parameter, then one after
		// the interval.
		{name: "a missing parameter is read at most once per 5 s", reads: 2, extReads: 4, steps: append(missing,
			step{advance: 6 * time.Second}, step{wantKind: "not_found"})},
		{name: "read failure with a valid cached token", reads: 3, extReads: 4, steps: []step{
			{put: rec(now, "A", hour, "")}, {get: "A"}, {fail: true}, {age: true}, {get: "A"},
			{advance: hour}, {wantKind: "read_failed"}}},
	}
}

// A form is a record that Go's tokenrecord.Parse, and so every reader,
// must accept or refuse: each is put once and read once.
type form struct {
	name  string
	token string
	value string // profileMark stands for the case's profile
}

// forms are records at the edges of the rules; their expiry is relative to
// now. What each reader must answer is what the Go reader answers (want).
func forms(now time.Time) []form {
	exp, iss := now.Add(hour).UTC(), now.Add(-hour).UTC()
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	// fields is the rest of a record after its access_token.
	fields := func(expiresAt, issuedAt, profile string) string {
		return fmt.Sprintf(`"token_type":"Bearer","expires_at":%s,"issued_at":%s,"profile":%s`, expiresAt, issuedAt, profile)
	}
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	std := func(expiresAt string) string { return fields(q(expiresAt), q(rfc(iss)), q(profileMark)) }
	ns := time.Date(exp.Year(), exp.Month(), exp.Day(), exp.Hour(), exp.Minute(), exp.Second(), 123456789, time.UTC)
	india, newfoundland := time.FixedZone("", 5*3600+1800), time.FixedZone("", -(3*3600+1800))
	list := []struct{ name, token, rest string }{
		{"valid", "", std(rfc(exp))},
		{"expires_at with nanoseconds", "", std(ns.Format(time.RFC3339Nano))},
		{"expires_at with milliseconds", "", std(exp.Format("2006-01-02T15:04:05.000Z07:00"))},
		{"expires_at at +05:30", "", std(rfc(exp.In(india)))},
		{"expires_at at -03:30, inside the skew", "", std(rfc(now.Add(30 * time.Second).In(newfoundland)))},
		{"expires_at without an offset", "", std(exp.Format("2006-01-02T15:04:05"))},
		{"expires_at a date alone", "", std(exp.Add(24 * hour).Format("2006-01-02"))},
		{"expires_at with a space for T", "", std(exp.Format("2006-01-02 15:04:05Z07:00"))},
		{"expires_at with a lower-case z", "", std(strings.Replace(rfc(exp), "Z", "z", 1))},
		{"expires_at with an offset without colon", "", std(exp.In(india).Format("2006-01-02T15:04:05-0700"))},
		{"expires_at a number", "", fields(fmt.Sprint(exp.Unix()), q(rfc(iss)), q(profileMark))},
		{"another profile's record", "", fields(q(rfc(exp)), q(rfc(iss)), q("another-tenant"))},
		{"profile null", "", fields(q(rfc(exp)), q(rfc(iss)), "null")},
		{"no issued_at", "", fields(q(rfc(exp)), "null", q(profileMark))},
		{"issued_at not before expires_at", "", fields(q(rfc(exp)), q(rfc(exp)), q(profileMark))},
		{"token_type not a string", "", strings.Replace(std(rfc(exp)), `"Bearer"`, "5", 1)},
		{"fingerprint not a string", "", std(rfc(exp)) + `,"fingerprint":7`},
		{"secret_version not a string", "", std(rfc(exp)) + `,"secret_version":7`},
		{"secret_version a string", "", std(rfc(exp)) + `,"secret_version":"a1b2c3d4-version"`},
		{"access_token with white space", tokenFor("ws-1", 24) + " " + tokenFor("ws-2", 24), std(rfc(exp))},
		// Go decodes a time's JSON string, escapes and all, before it
		// reads it as RFC 3339, as the other languages do; it matches keys
		// exactly, not case-insensitively; it refuses a comma before the
		// fraction, offsets past 23:59 and the year 0000 (which Python's
		// datetime cannot hold); Python refuses NaN and Infinity, as Go
		// and Node do.
		{"expires_at with a JSON escape (\\u005a for Z)", "", fields(`"`+strings.TrimSuffix(rfc(exp), "Z")+`\u005a"`, q(rfc(iss)), q(profileMark))},
		{"profile, then a case-variant Profile of another", "", std(rfc(exp)) + `,"Profile":"another-tenant"`},
		{"another's profile, then a case-variant Profile", "", fields(q(rfc(exp)), q(rfc(iss)), q("another-tenant")) + `,"Profile":` + q(profileMark)},
		{"upper-case keys", "", fmt.Sprintf(`"TOKEN_TYPE":"Bearer","EXPIRES_AT":%q,"ISSUED_AT":%q,"PROFILE":%q`, rfc(exp), rfc(iss), profileMark)},
		{"NaN in an unknown field", "", std(rfc(exp)) + `,"future":NaN`},
		{"-Infinity in an unknown field", "", std(rfc(exp)) + `,"future":[-Infinity]`},
		{"expires_at with a comma fraction", "", std(exp.Format("2006-01-02T15:04:05") + ",5Z")},
		{"expires_at at +24:00", "", std(exp.Add(24*hour).Format("2006-01-02T15:04:05") + "+24:00")},
		{"expires_at at -00:60", "", std(exp.Add(-hour).Format("2006-01-02T15:04:05") + "-00:60")},
		{"issued_at in the year 0000", "", fields(q(rfc(exp)), q("0000-01-01T00:00:00Z"), q(profileMark))},
		{"issued_at in the year 0001", "", fields(q(rfc(exp)), q("0001-01-01T00:00:01Z"), q(profileMark))},
		// Records nest at most 100 levels (the record's object is level
		// 1): CPython's json.loads raises RecursionError near 1,000
		// (its recursion limit, less the caller's frames; 3.14 goes
		// further), Go's decoder stops at 10,000, Node's far later.
		{"a record nested 100 levels deep", "", std(rfc(exp)) + `,"future":` + nested(99)},
		{"a record nested 101 levels deep", "", std(rfc(exp)) + `,"future":` + nested(100)},
		{"an unknown field nested 3,000 deep", "", std(rfc(exp)) + `,"future":` + nested(3000)},
	}
	out := make([]form, len(list))
	for i, l := range list {
		tok := l.token
		if tok == "" {
			tok = tokenFor(fmt.Sprintf("form-%d", i), 48)
		}
		out[i] = form{name: l.name, token: tok, value: fmt.Sprintf(`{"access_token":%q,%s}`, tok, l.rest)}
	}
	return out
}

// nested is n arrays, each in the one before, around a string that holds
// brackets (which do not count).
func nested(n int) string {
	return strings.Repeat("[", n) + `"[[{\\\"[{"` + strings.Repeat("]", n)
}

// want is what the Go reader answers for v as profile's record at now: the
// token's label, or the error kind.
func (f form) want(profile string, now time.Time) (served bool, kind string) {
	r, err := tokenrecord.Parse([]byte(strings.ReplaceAll(f.value, profileMark, profile)))
	switch {
	case err != nil, r.Profile != profile:
		return false, "unreadable"
	case !r.ValidAt(now, time.Minute):
		return false, "expired"
	}
	return true, ""
}
