package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
)

// fuzzSecret is the client secret in FuzzFetchError; "$S" in the fuzzed
// answer stands for it.
const fuzzSecret = "Hq2Wv8Kx4Nb6Zt1Ym3Rp"

// cannedAnswer answers every request with the same response.
type cannedAnswer struct {
	status int
	header http.Header
	body   string
}

func (c cannedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: c.status, Header: c.header.Clone(), Body: io.NopCloser(strings.NewReader(c.body)), Request: r}, nil
}

// FuzzFetchError answers a token request with a fuzzed status, headers and
// body in which "$S" is replaced by the client secret, as a careless (or
// hostile) endpoint that echoes the secret back would. Whatever the answer,
// Fetch must not panic, and its error must not contain any piece of the
// secret.
func FuzzFetchError(f *testing.F) {
	long := strings.Repeat("x", 190)
	for _, s := range []struct {
		status                       uint16
		contentType, location, after string
		body                         string
	}{
		{401, "application/json", "", "", `{"error":"invalid_client","error_description":"bad secret $S"}`},
		{401, "application/json", "", "", `{"error":"invalid_client","error_description":"` + long + `$S"}`},
		{400, "application/json", "", "", `{"error":"$S"}`},
		{403, "application/json", "", "", `{"message":"client_secret=$S is not allowed"}`},
		{302, "", "https://evil.example/$S?s=$S", "", ``},
		{503, "application/json", "", "1", `{"error":"temporarily_unavailable","error_description":"$S"}`},
		{429, "", "", "$S", ``},
		{200, "$S/json", "", "", `not json $S`},
		{200, "application/json", "", "", `{"access_token":"tok-1234567890","expires_in":60,"token_type":"$S"}`},
		{200, "application/json", "", "", `{"access_token":"tok-1234567890","expires_in":"$S"}`},
		{200, "application/json", "", "", `{"access_token":"$S"}`},
	} {
		f.Add(s.status, s.contentType, s.location, s.after, s.body)
	}
	f.Fuzz(func(t *testing.T, status uint16, contentType, location, retryAfter, body string) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		fill := func(s string) string { return strings.ReplaceAll(s, "$S", fuzzSecret) }
		h := http.Header{}
		for k, v := range map[string]string{"Content-Type": contentType, "Location": location, "Retry-After": retryAfter} {
			if v != "" {
				h.Set(k, fill(v))
			}
		}
		c := &Client{
			HTTP:  &http.Client{Transport: cannedAnswer{int(status), h, fill(body)}},
			Sleep: func(context.Context, time.Duration) error { return nil },
			Now:   func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) },
		}
		_, err := c.Fetch(context.Background(), Request{TokenURL: "https://auth.example.com/oauth/token", ClientID: "client-1", ClientSecret: fuzzSecret})
		if err == nil {
			return
		}
		var oe *Error
		if !errors.As(err, &oe) || oe.Attempts < 1 || oe.Attempts > DefaultMaxAttempts {
			t.Fatalf("Fetch = %v; want an *Error after 1..%d attempts", err, DefaultMaxAttempts)
		}
		for _, s := range []string{err.Error(), oe.Code, oe.Description} {
			if piece, found := leakcheck.Find(s, fuzzSecret); found {
				t.Errorf("Fetch error %q contains %q, a piece of the client secret", s, piece)
			}
		}
	})
}

func TestScrub(t *testing.T) {
	const secret = "Hq2Wv8Kx4Nb6Zt1Ym3Rp"
	tests := []struct{ in, secret, want string }{
		{"bad secret " + secret, secret, "bad secret [redacted]"},
		{"prefix Hq2Wv8Kx4N…", secret, "prefix [redacted]…"},
		{"middle 8Kx4Nb6Z here", secret, "middle [redacted] here"},
		{"seven Kx4Nb6Z only", secret, "seven Kx4Nb6Z only"},
		{secret + secret, secret, "[redacted]"},
		{"pin 1234 and 12345", "1234", "pin [redacted] and [redacted]5"},
		{"nothing", "", "nothing"},
	}
	for _, tt := range tests {
		if got := scrub(tt.in, tt.secret); got != tt.want {
			t.Errorf("scrub(%q, %q) = %q; want %q", tt.in, tt.secret, got, tt.want)
		}
	}
}

// TestScrubPieceMatchesLeakcheck keeps scrub removing exactly the pieces the
// leak scans look for; the constant is repeated so that the rotator binary
// does not link the test helper leakcheck.
func TestScrubPieceMatchesLeakcheck(t *testing.T) {
	if scrubPiece != leakcheck.PieceLen {
		t.Fatalf("scrubPiece = %d; want leakcheck.PieceLen = %d", scrubPiece, leakcheck.PieceLen)
	}
}

// echoSecret is a client secret with, in every 8 bytes, a character that
// form and JSON encodings both escape, so that each encoding of it shares
// no piece with the others (leakcheck.TestEncodings).
const echoSecret = `Pq7"Wx+9<Kz/Lm4&Rt=Vb\2 Ns>3Hy`

// echoEndpoint answers every token request with 400 invalid_request whose
// error_description quotes what echo picks from the request, as a careless
// endpoint that echoes what it received does.
func echoEndpoint(t *testing.T, echo func(r *http.Request, body string) string) string {
	t.Helper()
	u, _ := serve(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b, _ := json.Marshal(map[string]string{"error": "invalid_request", "error_description": "could not read " + echo(r, string(body))})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(b)
	})
	return u
}

// echoes are the ways the endpoints of TestEchoedEncodingsScrubbed echo a
// request: its body as received (form-urlencoded or JSON-escaped), its
// Authorization header, or the Basic pair re-encoded without escaping.
var echoes = []struct {
	name string
	auth profile.Auth
	form bool
	echo func(r *http.Request, body string) string
}{
	{"form body", profile.AuthClientSecretPost, true, func(_ *http.Request, body string) string { return body }},
	{"json body", profile.AuthClientSecretPost, false, func(_ *http.Request, body string) string { return body }},
	{"basic header", profile.AuthClientSecretBasic, true, func(r *http.Request, _ string) string { return r.Header.Get("Authorization") }},
	{"basic pair re-encoded", profile.AuthClientSecretBasic, true, func(r *http.Request, _ string) string {
		id, pw, _ := r.BasicAuth()
		id, _ = url.QueryUnescape(id)
		pw, _ = url.QueryUnescape(pw)
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+pw))
	}},
}

// TestEchoedEncodingsScrubbed: an endpoint that echoes the client secret
// in any encoding the request used (form-urlencoded, JSON-escaped, Base64
// of the Basic pair) cannot put it, whole or in part, into an error.
func TestEchoedEncodingsScrubbed(t *testing.T) {
	forms := leakcheck.Encodings(clientID, echoSecret)
	for _, tt := range echoes {
		t.Run(tt.name, func(t *testing.T) {
			var echoed string
			u := echoEndpoint(t, func(r *http.Request, body string) string { echoed = tt.echo(r, body); return echoed })
			_, err := newClient(&sleeps{}).Fetch(context.Background(), Request{TokenURL: u, ClientID: clientID, ClientSecret: echoSecret, Auth: tt.auth, Form: tt.form})
			if _, found := leakcheck.Find(echoed, forms...); err == nil || !found {
				t.Fatalf("Fetch = %v; endpoint echoed %q; want a rejection that echoed the secret", err, echoed)
			}
			if piece, found := leakcheck.Find(err.Error(), forms...); found {
				t.Errorf("Fetch error %q contains %q, a piece of the client secret as the request encoded it", err, piece)
			}
			if !strings.Contains(err.Error(), "could not read") {
				t.Errorf("Fetch error %q; want the rest of the endpoint's description kept", err)
			}
		})
	}
}

// TestEchoedChallengeScrubbed: an endpoint that echoes the client secret
// as the scheme of its WWW-Authenticate challenge cannot put it into the
// error's hint either.
func TestEchoedChallengeScrubbed(t *testing.T) {
	u, _ := serve(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", secret+` realm="oauth"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	_, err := newClient(&sleeps{}).Fetch(context.Background(), Request{TokenURL: u, ClientID: clientID, ClientSecret: secret})
	if err == nil {
		t.Fatal("Fetch succeeded; want a rejection")
	}
	if piece, found := leakcheck.Find(err.Error(), secret); found {
		t.Errorf("Fetch error %q contains %q, a piece of the client secret", err, piece)
	}
}
