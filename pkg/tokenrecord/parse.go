package tokenrecord

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// maxDepth is how deeply a record's JSON may nest its objects and arrays:
// the record's object is level 1, and the rotator writes nothing deeper.
// Every reader refuses a deeper value alike (CPython's json.loads fails
// near 1,000 levels, its recursion limit less the caller's frames).
const maxDepth = 100

// Parse decodes and validates a stored record, by the rules every reader
// applies alike (readers/README.md): a JSON object whose keys are matched
// exactly (not case-insensitively; of keys repeated, the last counts),
// whose times are JSON strings (escapes decoded) holding an RFC 3339 time
// (parseTime), and which nests at most 100 levels deep. Unknown fields are
// ignored. Errors name the broken field, never its value.
func Parse(b []byte) (Record, error) {
	if depth(b) > maxDepth {
		return Record{}, fmt.Errorf("%w: nested more than %d levels deep", ErrInvalid, maxDepth)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		// json errors may quote a fragment of the input, which can be a
		// token: report only the kind of problem.
		return Record{}, fmt.Errorf("%w: not a JSON object with the record's fields (%s)", ErrInvalid, jsonErrorKind(err))
	}
	var r Record
	v := reflect.ValueOf(&r).Elem()
	for i, key := range recordKeys {
		var text string
		if err := decodeString(fields, key, &text); err != nil {
			return Record{}, err
		}
		switch f := v.Field(i).Addr().Interface().(type) {
		case *string:
			*f = text
		case *time.Time:
			if text == "" {
				continue // missing: validate names it
			}
			t, ok := parseTime(text)
			if !ok {
				return Record{}, fmt.Errorf("%w: %s is not an RFC 3339 time (YYYY-MM-DDThh:mm:ss, an optional .fraction, Z or ±hh:mm)", ErrInvalid, key)
			}
			*f = t
		}
	}
	if err := r.validate(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// recordKeys are the JSON keys of Record's fields, by field index: Parse
// reads each field from exactly its key (every field is a string, or a
// time written as one).
var recordKeys = func() []string {
	t := reflect.TypeFor[Record]()
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return keys
}()

// decodeString sets *to from the field key of fields, a JSON string; a
// field that is missing or null leaves it empty.
func decodeString(fields map[string]json.RawMessage, key string, to *string) error {
	raw, ok := fields[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, to); err != nil {
		return fmt.Errorf("%w: not a JSON object with the record's fields (field %q has the wrong type)", ErrInvalid, key)
	}
	return nil
}

// parseTime reads an RFC 3339 time as every reader reads it: exactly
// YYYY-MM-DDThh:mm:ss, then an optional '.' and one or more digits (any
// number; beyond nanoseconds they are dropped), then Z or ±hh:mm; every
// part in range (no second 60, no offset past 23:59) and the year 0001 or
// later (Python's datetime holds no year 0). The result is in UTC.
func parseTime(s string) (time.Time, bool) {
	num := func(i, n int) int { // the n digits at s[i:], or -1
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	rest, ns := s[19:], 0
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			if n <= 9 {
				ns = ns*10 + int(rest[n]-'0')
			}
			n++
		}
		if n == 1 {
			return time.Time{}, false
		}
		for i := n; i <= 9; i++ {
			ns *= 10
		}
		rest = rest[n:]
	}
	var offset int
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, om := num(len(s)-5, 2), num(len(s)-2, 2)
		if oh < 0 || om < 0 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		if offset = (oh*60 + om) * 60; rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	if y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
	if t.Day() != d { // February 30th, April 31st, …
		return time.Time{}, false
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}

// depth is how deeply the JSON text b nests its objects and arrays.
func depth(b []byte) int {
	level, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++ // the escaped byte
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			level++
			deepest = max(deepest, level)
		case c == ']' || c == '}':
			level--
		}
	}
	return deepest
}

// jsonErrorKind describes a JSON decoding error without quoting the input.
func jsonErrorKind(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return "not an object"
	default:
		return "malformed"
	}
}
