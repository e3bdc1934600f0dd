package readers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
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
// the labelled token, expiring at now+in.
func rec(now time.Time, label string, in time.Duration, extra string) string {
	return fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_at":%q,"issued_at":%q,"profile":%q%s}`,
		tokenFor(label, labelSize(label)), now.Add(in).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), profileMark, extra)
}

// cases are the timelines every reader must follow. Each runs on a driver
// of its own, whose clock it moves.
func cases(now time.Time) []readerCase {
	notJSON := tokenFor("notjson", 40) // a bare token where the record should be
	exp := now.Add(hour).UTC().Format(time.RFC3339)
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
		{name: "read failure with a valid cached token", reads: 3, extReads: 4, steps: []step{
			{put: rec(now, "A", hour, "")}, {get: "A"}, {fail: true}, {age: true}, {get: "A"},
			{advance: hour}, {wantKind: "read_failed"}}},
	}
}
