package oauth

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
)

// fuzzToken stands for the access token in fuzzed answers. No piece of it
// occurs in this package's messages, so a piece of it in an error came from
// the token.
const fuzzToken = "Zk4Qm7Vx2Lp9Rt6WcN3b"

// FuzzParseToken feeds the token response parser bodies of the form
// prefix + fuzzToken + suffix with any Content-Type. It must not panic; an
// accepted answer must meet the contract (non-empty token without white
// space, Bearer, 1 s ≤ lifetime ≤ MaxLifetime in whole seconds, from
// expires_in, a JWT exp or the default lifetime); a
// refused one must be an ErrInvalidResponse that names what is wrong and
// never contains a piece of the access token.
func FuzzParseToken(f *testing.F) {
	for _, s := range [][3]string{
		{`{"access_token":"`, `","expires_in":86400,"token_type":"Bearer"}`, "application/json"},
		{`{"access_token":"`, `","expires_in":"3600","token_type":"bearer","scope":"x"}`, "application/json; charset=utf-8"},
		{`{"access_token":"`, `","expires_in":36000.9}`, ""},
		{`{"access_token":"`, `"}`, "application/json"},
		{`{"access_token":"`, `","expires_in":0}`, ""},
		{`{"access_token":"`, `","expires_in":-60}`, ""},
		{`{"access_token":"`, `","expires_in":1e15}`, ""},
		{`{"access_token":"`, `","expires_in":1e400}`, ""},
		{`{"access_token":"`, `","expires_in":"soon"}`, ""},
		{`{"access_token":"`, `","expires_in":null}`, ""},
		{`{"access_token":"`, `","expires_in":true}`, ""},
		{`{"access_token":"`, `","expires_in":3600,"token_type":"mac"}`, ""},
		{`{"access_token":"`, ` x","expires_in":3600}`, ""},
		{`{"access_token":"\n`, `","expires_in":3600}`, ""},
		{`{"access_token":"`, ``, "application/json"},
		{`{"access_token":"`, `","expires_in":3600,"access_token":""}`, ""},
		{`{"access_token":"`, `","expires_in":3600,"token_type":`, ""},
		{`<html><body>`, `</body></html>`, "text/html"},
		{`{"access_token":"","error":"`, `"}`, ""},
		{`{"token_type":"`, `","access_token":"a","expires_in":60}`, ""},
		{`{"access_token":123,"x":"`, `"}`, ""},
		{`[`, `]`, ""},
		{``, ``, ""},
	} {
		f.Add(s[0], s[1], s[2], uint32(0))
	}
	// JWT access tokens (fuzzToken is the signature) whose exp gives the
	// lifetime, with and without expires_in and default_lifetime.
	for _, s := range []struct {
		payload, suffix string
		def             uint32
	}{
		{`{"exp":1800003600,"sub":"x"}`, `"}`, 0},
		{`{"exp":1800003600}`, `","expires_in":60}`, 0},
		{`{"exp":1800000060}`, `","expires_in":86400}`, 0},
		{`{"exp":1799999000}`, `"}`, 3600},
		{`{"exp":"1800003600"}`, `"}`, 3600},
		{`{"exp":1e300}`, `"}`, 0},
		{`{"nbf":1}`, `"}`, 0},
		{`not json`, `"}`, 60},
	} {
		f.Add(`{"access_token":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.`+b64([]byte(s.payload))+`.`, s.suffix, "application/json", s.def)
	}
	f.Fuzz(func(t *testing.T, prefix, suffix, contentType string, defSeconds uint32) {
		data := []byte(prefix + fuzzToken + suffix)
		c := &Client{}
		tok, err := c.parseToken(data, contentType, time.Unix(1_800_000_000, 0), time.Duration(defSeconds)*time.Second)
		if err == nil {
			switch {
			case tok.AccessToken == "" || strings.ContainsFunc(tok.AccessToken, func(r rune) bool { return r <= ' ' || r == 0x7f }):
				t.Fatalf("parseToken(%q) accepted access_token %q", data, tok.AccessToken)
			case !strings.EqualFold(tok.TokenType, "Bearer"):
				t.Fatalf("parseToken(%q) accepted token_type %q", data, tok.TokenType)
			case tok.ExpiresIn < time.Second || tok.ExpiresIn > DefaultMaxLifetime || tok.ExpiresIn%time.Second != 0:
				t.Fatalf("parseToken(%q) accepted expires_in %v", data, tok.ExpiresIn)
			case tok.ExpirySource == "default_lifetime" && tok.ExpiresIn != time.Duration(defSeconds)*time.Second:
				t.Fatalf("parseToken(%q) = lifetime %v from the default %ds", data, tok.ExpiresIn, defSeconds)
			}
			return
		}
		msg := err.Error()
		if !errors.Is(err, ErrInvalidResponse) || !strings.HasPrefix(msg, ErrInvalidResponse.Error()+": ") {
			t.Fatalf("parseToken(%q) = %q; want an ErrInvalidResponse", data, msg)
		}
		if !containsAny(msg, "access_token", "expires_in", "token_type", "body", "JWT exp") {
			t.Errorf("parseToken(%q) = %q; want it to name the field or say the body is wrong", data, msg)
		}
		if _, copied := leakcheck.Find(prefix+suffix+contentType, fuzzToken); copied {
			return // the fuzzer repeated the token elsewhere in the input
		}
		if echoedField(data) {
			return // fuzzToken is in token_type or expires_in, which errors quote
		}
		if piece, found := leakcheck.Find(msg, fuzzToken); found {
			t.Errorf("parseToken(%q) = %q; it contains %q, a piece of the access token", data, msg, piece)
		}
	})
}

// echoedField reports whether data is a JSON object whose access_token does
// not hold fuzzToken (so it is in another field, such as token_type).
func echoedField(data []byte) bool {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return false
	}
	at, _ := m["access_token"].(string)
	return !strings.Contains(at, fuzzToken)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
