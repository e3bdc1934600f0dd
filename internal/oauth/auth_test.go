package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// seen is one request as a test endpoint saw it.
type seen struct {
	header http.Header
	form   url.Values
	json   map[string]string
	peer   string // CommonName of the client certificate, if any
}

// recorder is a token endpoint that records requests and answers with
// answer (a 200 with a one-hour token when nil).
type recorder struct {
	mu     sync.Mutex
	seen   []seen
	answer func(n int, w http.ResponseWriter)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := seen{header: r.Header.Clone()}
	body, _ := io.ReadAll(r.Body)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &s.json)
	} else {
		s.form, _ = url.ParseQuery(string(body))
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		s.peer = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	rec.mu.Lock()
	rec.seen = append(rec.seen, s)
	n := len(rec.seen)
	rec.mu.Unlock()
	if rec.answer != nil {
		rec.answer(n, w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"access_token":"tok-0123456789abcdef","token_type":"Bearer","expires_in":3600}`)
}

func (rec *recorder) requests() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.seen...)
}

// field returns a body field of either encoding.
func (s seen) field(k string) string {
	if s.json != nil {
		return s.json[k]
	}
	return s.form.Get(k)
}

func TestClientSecretBasic(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	const id, pw = "client id:1", "p@ss word+/:é"
	for _, form := range []bool{true, false} {
		r := Request{TokenURL: srv.URL, ClientID: id, ClientSecret: pw, Auth: profile.AuthClientSecretBasic, Form: form, Scope: "a b"}
		if _, err := newClient(&sleeps{}).Fetch(context.Background(), r); err != nil {
			t.Fatalf("Fetch(basic, form=%t) = %v", form, err)
		}
	}
	for _, s := range rec.requests() {
		user, pass, ok := (&http.Request{Header: s.header}).BasicAuth()
		if !ok {
			t.Fatalf("Authorization = %q; want Basic", s.header.Get("Authorization"))
		}
		// RFC 6749 2.3.1: each form-urlencoded before Base64.
		if user != url.QueryEscape(id) || pass != url.QueryEscape(pw) {
			t.Errorf("Basic credentials = %q:%q; want %q:%q", user, pass, url.QueryEscape(id), url.QueryEscape(pw))
		}
		if s.field("client_secret") != "" || s.field("client_id") != "" || s.field("grant_type") != "client_credentials" || s.field("scope") != "a b" {
			t.Errorf("body = form %v json %v; want grant_type and scope, no client_id or client_secret", s.form, s.json)
		}
	}
}

// verifyAssertion checks a client assertion's signature with pub and
// returns its header and claims.
func verifyAssertion(t *testing.T, a string, pub crypto.PublicKey) (map[string]string, map[string]any) {
	t.Helper()
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		t.Fatalf("client_assertion has %d parts; want 3", len(parts))
	}
	var header map[string]string
	var claims map[string]any
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			t.Fatalf("client_assertion part %d is not base64url JSON", i)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal("signature is not base64url")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch header["alg"] {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, sum[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, sum[:], sig, nil)
	case "ES256":
		if len(sig) != 64 || !ecdsa.Verify(pub.(*ecdsa.PublicKey), sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			err = errors.New("ES256 signature does not verify")
		}
	default:
		t.Fatalf("alg = %q", header["alg"])
	}
	if err != nil {
		t.Fatalf("%s signature: %v", header["alg"], err)
	}
	return header, claims
}

func TestPrivateKeyJWT(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name, alg, kid, aud string
		key                 oauthtest.Key
		form                bool
	}{
		{"rs256 form", "RS256", "kid-1", "", oauthtest.RSAKey(), true},
		{"ps256 json", "PS256", "", "https://issuer.example/", oauthtest.RSAKey(), false},
		{"es256 form", "ES256", "ec-1", "", oauthtest.ECKey(), true},
		{"default alg for rsa", "", "", "", oauthtest.RSAKey(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A 503 first: the retry must carry a new assertion (new jti).
			rec := &recorder{answer: func(n int, w http.ResponseWriter) {
				if n == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				fmt.Fprint(w, `{"access_token":"tok-0123456789abcdef","expires_in":60}`)
			}}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			c := newClient(&sleeps{})
			c.Now = func() time.Time { return now }
			r := Request{TokenURL: srv.URL + "/token", ClientID: "cid", Auth: profile.AuthPrivateKeyJWT, Key: tt.key.Signer,
				KeyID: tt.kid, Algorithm: tt.alg, AssertionAudience: tt.aud, Form: tt.form}
			if _, err := c.Fetch(context.Background(), r); err != nil {
				t.Fatalf("Fetch = %v", err)
			}
			reqs := rec.requests()
			if len(reqs) != 2 {
				t.Fatalf("endpoint saw %d requests; want 2", len(reqs))
			}
			jtis := map[string]bool{}
			for _, s := range reqs {
				if s.field("client_assertion_type") != AssertionType || s.field("client_id") != "cid" || s.field("client_secret") != "" || s.header.Get("Authorization") != "" {
					t.Errorf("body = form %v json %v; want client_id, the jwt-bearer assertion type, no secret", s.form, s.json)
				}
				h, cl := verifyAssertion(t, s.field("client_assertion"), tt.key.Public())
				wantAlg, wantAud := tt.alg, tt.aud
				if wantAlg == "" {
					wantAlg = "RS256"
				}
				if wantAud == "" {
					wantAud = r.TokenURL
				}
				if h["alg"] != wantAlg || h["kid"] != tt.kid || h["typ"] != "JWT" {
					t.Errorf("header = %v; want alg %s, kid %q", h, wantAlg, tt.kid)
				}
				back := float64(now.Add(-AssertionClockSkew).Unix())
				if cl["iss"] != "cid" || cl["sub"] != "cid" || cl["aud"] != wantAud || cl["iat"] != back || cl["nbf"] != back ||
					cl["exp"] != float64(now.Add(AssertionLifetime).Unix()) {
					t.Errorf("claims = %v; want iss = sub = cid, aud %s, iat = nbf = now-1m, exp now+2m", cl, wantAud)
				}
				jti, _ := cl["jti"].(string)
				if len(jti) < 16 || jtis[jti] {
					t.Errorf("jti %q is short or repeated", jti)
				}
				jtis[jti] = true
			}
		})
	}
}

func TestTLSClientAuth(t *testing.T) {
	ca := oauthtest.NewCA()
	key := oauthtest.ECKey()
	rec := &recorder{}
	srv := httptest.NewUnstartedServer(rec)
	srv.TLS = ca.ServerTLS()
	srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	creds, err := clientcred.Parse("clients/mtls", []byte(fmt.Sprintf(`{"client_id":"mtls-client","certificate":%q,"private_key":%q}`, ca.ClientCert("mtls-client", key), key.PEM)))
	if err != nil {
		t.Fatal(err)
	}
	p := profile.Profile{TokenURL: srv.URL + "/token", Auth: profile.AuthTLSClientAuth, Body: profile.BodyForm}
	c := newClient(&sleeps{})
	c.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	if _, err := c.Fetch(context.Background(), NewRequest(p, creds)); err != nil {
		t.Fatalf("Fetch(tls_client_auth) = %v", err)
	}
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].peer != "mtls-client" || reqs[0].field("client_id") != "mtls-client" || reqs[0].field("client_secret") != "" {
		t.Fatalf("endpoint saw %+v; want one request with the client certificate and client_id", reqs)
	}
	// Without the certificate the TLS handshake fails: the server required it.
	// It is not retried: another attempt would present the same nothing.
	noCert := Request{TokenURL: srv.URL + "/token", ClientID: "mtls-client", ClientSecret: "x"}
	_, err = c.Fetch(context.Background(), noCert)
	var oe *Error
	if !errors.As(err, &oe) || oe.Retryable || oe.Attempts != 1 {
		t.Errorf("Fetch without a client certificate = %v; want one attempt, not retryable", err)
	}
}

func TestCredentialsCheckedBeforeAnyRequest(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"basic without secret", Request{Auth: profile.AuthClientSecretBasic, SecretID: "clients/a"}, `auth client_secret_basic needs client_secret in secret "clients/a"`},
		{"post without secret", Request{SecretID: "clients/a"}, `auth client_secret_post needs client_secret in secret "clients/a"`},
		{"jwt without key", Request{Auth: profile.AuthPrivateKeyJWT, ClientSecret: "x", SecretID: "clients/b"}, `auth private_key_jwt needs private_key in secret "clients/b"`},
		{"mtls without certificate", Request{Auth: profile.AuthTLSClientAuth, ClientSecret: "x", SecretID: "clients/c"}, `auth tls_client_auth needs certificate and private_key in secret "clients/c"`},
		{"mtls over http", Request{Auth: profile.AuthTLSClientAuth, Certificate: &tls.Certificate{}, SecretID: "clients/c"}, "token_url must be https"},
		{"unknown auth", Request{Auth: "none", ClientSecret: "x"}, `unknown auth "none"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.TokenURL, r.ClientID = srv.URL, "cid"
			_, err := newClient(&sleeps{}).Fetch(context.Background(), r)
			if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "nothing was sent") {
				t.Errorf("Fetch = %v; want ErrCredentials saying %q and that nothing was sent", err, tt.want)
			}
		})
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("endpoint saw %d requests; want none", n)
	}
}

// jwt builds an unsigned JWT-shaped access token with the given claims.
func jwt(claims string) string {
	return b64([]byte(`{"alg":"RS256"}`)) + "." + b64([]byte(claims)) + ".c2lnbmF0dXJlLXBsYWNlaG9sZGVy"
}

func TestLifetime(t *testing.T) {
	sent := time.Unix(1_800_000_000, 0)
	exp := func(d time.Duration) string { return jwt(fmt.Sprintf(`{"exp":%d,"sub":"x"}`, sent.Add(d).Unix())) }
	tests := []struct {
		name    string
		answer  string
		def     time.Duration
		want    time.Duration
		source  string
		wantErr string
	}{
		{"expires_in", `{"access_token":"opaque-token-1","expires_in":3600}`, 0, time.Hour, "expires_in", ""},
		{"jwt exp only", `{"access_token":"` + exp(2*time.Hour) + `"}`, 0, 2 * time.Hour, "jwt exp", ""},
		{"jwt exp earlier than expires_in", `{"access_token":"` + exp(30*time.Minute) + `","expires_in":3600}`, 0, 30 * time.Minute, "jwt exp", ""},
		{"expires_in earlier than jwt exp", `{"access_token":"` + exp(2*time.Hour) + `","expires_in":3600}`, 0, time.Hour, "expires_in", ""},
		{"jwt exp beats default", `{"access_token":"` + exp(2*time.Hour) + `"}`, 24 * time.Hour, 2 * time.Hour, "jwt exp", ""},
		{"default lifetime", `{"access_token":"opaque-token-1"}`, 90 * time.Minute, 90 * time.Minute, "default_lifetime", ""},
		{"jwt without exp, default", `{"access_token":"` + jwt(`{"sub":"x"}`) + `"}`, time.Hour, time.Hour, "default_lifetime", ""},
		{"nothing", `{"access_token":"opaque-token-1"}`, 0, 0, "", "expires_in is missing and the access token is not a JWT with exp; set the profile's default_lifetime"},
		{"jwt exp past", `{"access_token":"` + exp(-time.Minute) + `"}`, time.Hour, 0, "", "JWT exp is not after"},
		{"jwt exp too far", `{"access_token":"` + exp(400*24*time.Hour) + `"}`, 0, 0, "", "JWT exp is more than"},
		{"bad expires_in with jwt", `{"access_token":"` + exp(time.Hour) + `","expires_in":"soon"}`, 0, 0, "", "expires_in is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := (&Client{}).parseToken([]byte(tt.answer), "application/json", sent, tt.def)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseToken = %v, %v; want an error saying %q", tok, err, tt.wantErr)
				}
				var a struct {
					AccessToken string `json:"access_token"`
				}
				_ = json.Unmarshal([]byte(tt.answer), &a)
				if piece, found := leakcheck.Find(err.Error(), a.AccessToken); found {
					t.Errorf("error %q contains %q, a piece of the access token", err, piece)
				}
				return
			}
			if err != nil || tok.ExpiresIn != tt.want || tok.ExpirySource != tt.source {
				t.Fatalf("parseToken = %v (%s), %v; want %v from %s", tok, tok.ExpirySource, err, tt.want, tt.source)
			}
		})
	}
}

// TestJWTExpCountsFromSend: a JWT exp is counted from when the request
// went out, by the client's clock, so a slow answer does not stretch it.
func TestJWTExpCountsFromSend(t *testing.T) {
	sent := time.Unix(1_800_000_000, 0)
	clock := sent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		clock = clock.Add(5 * time.Second) // the answer takes 5 s
		fmt.Fprintf(w, `{"access_token":%q}`, jwt(fmt.Sprintf(`{"exp":%d}`, sent.Add(time.Hour).Unix())))
	}))
	defer srv.Close()
	c := newClient(&sleeps{})
	c.Now = func() time.Time { return clock }
	tok, err := c.Fetch(context.Background(), Request{TokenURL: srv.URL, ClientID: "c", ClientSecret: "s"})
	if err != nil || tok.ExpiresIn != time.Hour {
		t.Fatalf("Fetch = %v, %v; want a lifetime of 1h counted from the send", tok, err)
	}
}

// TestAssertionThumbprints: a private_key_jwt secret with a certificate
// (Microsoft Entra ID's certificate credentials) puts the certificate's
// SHA-1 and SHA-256 thumbprints into the assertion header, and does not
// present the certificate in TLS.
func TestAssertionThumbprints(t *testing.T) {
	ca, key := oauthtest.NewCA(), oauthtest.RSAKey()
	creds, err := clientcred.Parse("clients/entra", []byte(fmt.Sprintf(`{"client_id":"app-id","private_key":%q,"certificate":%q,"algorithm":"PS256"}`, key.PEM, ca.ClientCert("app", key))))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := httptest.NewUnstartedServer(rec)
	srv.TLS = ca.ServerTLS() // asks for a client certificate, does not require one
	srv.StartTLS()
	defer srv.Close()
	p := profile.Profile{TokenURL: srv.URL, Auth: profile.AuthPrivateKeyJWT, Body: profile.BodyForm, Scope: "api://app/.default"}
	c := newClient(&sleeps{})
	c.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	if _, err := c.Fetch(context.Background(), NewRequest(p, creds)); err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	s := rec.requests()[0]
	h, _ := verifyAssertion(t, s.field("client_assertion"), key.Public())
	der := creds.Certificate().Certificate[0]
	s1, s256 := sha1.Sum(der), sha256.Sum256(der)
	if h["x5t"] != b64(s1[:]) || h["x5t#S256"] != b64(s256[:]) || h["alg"] != "PS256" {
		t.Errorf("header = %v; want PS256 with x5t %s and x5t#S256 %s", h, b64(s1[:]), b64(s256[:]))
	}
	if s.peer != "" {
		t.Errorf("the certificate was presented in TLS (%s); want it only in the header", s.peer)
	}
}
