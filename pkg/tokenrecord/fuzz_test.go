package tokenrecord

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
)

// fuzzToken stands for the access token in fuzzed records. No piece of it
// occurs in this package's messages, so a piece of it in an error came from
// the token.
const fuzzToken = "Zk4Qm7Vx2Lp9Rt6WcN3b"

// FuzzParse feeds Parse records of the form prefix + fuzzToken + suffix. It
// must not panic; an accepted record must meet the contract; a refused one
// must be an ErrInvalid that says what is wrong and never contains a piece
// of the token.
func FuzzParse(f *testing.F) {
	for _, s := range [][2]string{
		{`{"access_token":"`, `","token_type":"Bearer","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"p","fingerprint":"v1:a:b"}`},
		{`{"access_token":"`, `","expires_at":"2026-11-23T10:00:00+01:00","issued_at":"2026-11-22T10:00:00.5Z","profile":"p","extra":[1,{"x":null}]}`},
		{`{"access_token":"`, `"`},
		{`{"access_token":"`, ` x","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"p"}`},
		{`{"access_token":"`, `","expires_at":"tomorrow","issued_at":"2026-11-22T10:00:00Z","profile":"p"}`},
		{`{"access_token":"`, `","expires_at":42}`},
		{`{"access_token":"`, `","expires_at":"2026-11-21T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"p"}`},
		{`{"access_token":"`, `","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z"}`},
		{`{"access_token":"`, `","expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":["p"]}`},
		{`{"access_token":"","profile":"`, `"}`},
		{``, ``},
		{`[`, `]`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, prefix, suffix string) {
		data := []byte(prefix + fuzzToken + suffix)
		r, err := Parse(data)
		if err == nil {
			switch {
			case r.AccessToken == "" || strings.ContainsAny(r.AccessToken, " \t\r\n"):
				t.Fatalf("Parse(%q) accepted access_token %q", data, r.AccessToken)
			case r.Profile == "" || !r.ExpiresAt.After(r.IssuedAt):
				t.Fatalf("Parse(%q) accepted %v", data, r)
			case r.ExpiresAt.Location() != time.UTC || r.IssuedAt.Location() != time.UTC:
				t.Fatalf("Parse(%q) returned times outside UTC: %v", data, r)
			}
			return
		}
		msg := err.Error()
		if !errors.Is(err, ErrInvalid) || len(msg) <= len(ErrInvalid.Error())+2 {
			t.Fatalf("Parse(%q) = %q; want an ErrInvalid that says what is wrong", data, msg)
		}
		if _, copied := leakcheck.Find(prefix+suffix, fuzzToken); copied {
			return // the fuzzer repeated the token elsewhere in the input
		}
		if piece, found := leakcheck.Find(msg, fuzzToken); found {
			t.Errorf("Parse(%q) = %q; it contains %q, a piece of the token", data, msg, piece)
		}
	})
}

// FuzzMarshalParse checks the round trip writer → reader: a record Marshal
// accepts is read back by Parse as written (UTC, whole seconds, expires_at
// rounded down); a record it refuses is an ErrInvalid without the token.
// Strings that are not valid UTF-8 are skipped: the record is JSON, and
// the rotator stores only tokens it decoded from JSON.
func FuzzMarshalParse(f *testing.F) {
	f.Add("eyJhbGciOi.payload.sig", "Bearer", "aviv-caas-agency-42", "v1:a:b", int64(1795341600), int64(0), int64(86400e9))
	f.Add("tok", "", "p", "", int64(1795341600), int64(999999999), int64(1))
	f.Add("tok", "bearer", "p", "", int64(-62135596800), int64(0), int64(3600e9))
	f.Add("tok", "Bearer", "p", "", int64(253402300799), int64(0), int64(3600e9))
	f.Add("a b", "Bearer", "p", "", int64(1795341600), int64(0), int64(3600e9))
	f.Add("", "Bearer", "p", "", int64(1795341600), int64(0), int64(3600e9))
	f.Add("tok", "Bearer", "", "", int64(1795341600), int64(0), int64(3600e9))
	f.Add("tok", "Bearer", "p", "", int64(1795341600), int64(0), int64(-1))
	f.Fuzz(func(t *testing.T, token, tokenType, profile, fingerprint string, issuedSec, issuedNsec, lifetime int64) {
		for _, s := range []string{token, tokenType, profile, fingerprint} {
			if !utf8.ValidString(s) {
				t.Skip()
			}
		}
		issued := time.Unix(issuedSec, issuedNsec%1e9)
		in := Record{AccessToken: token, TokenType: tokenType, Profile: profile, Fingerprint: fingerprint,
			IssuedAt: issued, ExpiresAt: issued.Add(time.Duration(lifetime))}
		b, err := Marshal(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Marshal(%v) = %v; want an ErrInvalid", in, err)
			}
			if len(token) >= leakcheck.PieceLen && !strings.Contains(tokenType+profile+fingerprint, token) {
				if piece, found := leakcheck.Find(err.Error(), token); found && !strings.Contains(ErrInvalid.Error(), piece) {
					t.Errorf("Marshal error %q contains %q, a piece of the token", err, piece)
				}
			}
			return
		}
		out, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Marshal(%v)) = %v; want the record back", in, err)
		}
		want := in
		want.IssuedAt = in.IssuedAt.UTC().Truncate(time.Second)
		want.ExpiresAt = in.ExpiresAt.UTC().Truncate(time.Second)
		if out != want {
			t.Fatalf("Parse(Marshal(%v)) = %v; want %v", in, out, want)
		}
		if again, err := Marshal(out); err != nil || string(again) != string(b) {
			t.Fatalf("Marshal(Parse(%s)) = %s, %v; want the same bytes", b, again, err)
		}
	})
}
