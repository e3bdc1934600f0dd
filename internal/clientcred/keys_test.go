package clientcred

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

// secretJSON renders a SecretString from fields.
func secretJSON(t *testing.T, fields map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseKeys(t *testing.T) {
	rsaKey, ecKey := oauthtest.RSAKey(), oauthtest.ECKey()
	ca := oauthtest.NewCA()
	cert := ca.ClientCert("client-1", ecKey)
	rsaCert := ca.ClientCert("client-1", rsaKey)
	now := time.Now()
	expired := ca.Issue("client-1", ecKey.Public(), now.Add(-48*time.Hour), now.Add(-time.Hour), false)
	future := ca.Issue("client-1", ecKey.Public(), now.Add(time.Hour), now.Add(48*time.Hour), false)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	p384PEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p384DER}))
	encrypted := string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("0123456789abcdef0123456789abcdef")}))

	tests := []struct {
		name    string
		fields  map[string]string
		alg     string // want Algorithm on success
		hasCert bool
		wantErr string // fragment of the error, "" for success
	}{
		{"rsa pkcs8", map[string]string{"client_id": "c", "private_key": rsaKey.PEM, "key_id": "k1"}, RS256, false, ""},
		{"rsa pkcs1 ps256", map[string]string{"client_id": "c", "private_key": rsaKey.PKCS1PEM, "algorithm": "PS256"}, PS256, false, ""},
		{"ec sec1", map[string]string{"client_id": "c", "private_key": ecKey.PKCS1PEM}, ES256, false, ""},
		{"ec pkcs8 with certificate", map[string]string{"client_id": "c", "private_key": ecKey.PEM, "certificate": cert}, ES256, true, ""},
		{"rsa with certificate and chain", map[string]string{"client_id": "c", "private_key": rsaKey.PEM, "certificate": rsaCert + cert}, RS256, true, ""},
		{"secret and key", map[string]string{"client_id": "c", "client_secret": secret, "private_key": ecKey.PEM}, ES256, false, ""},
		{"not pem", map[string]string{"client_id": "c", "private_key": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}, "", false, "private_key is not PEM"},
		{"escaped newlines lost", map[string]string{"client_id": "c", "private_key": strings.ReplaceAll(rsaKey.PEM, "\n", `\n`)}, "", false, "private_key is not PEM"},
		{"encrypted", map[string]string{"client_id": "c", "private_key": encrypted}, "", false, "private_key is encrypted"},
		{"certificate as key", map[string]string{"client_id": "c", "private_key": cert}, "", false, `private_key is a PEM "CERTIFICATE" block`},
		{"corrupt key", map[string]string{"client_id": "c", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, "", false, "private_key does not parse"},
		{"short rsa", map[string]string{"client_id": "c", "private_key": smallPEM}, "", false, "shorter than 2048 bits"},
		{"p-384", map[string]string{"client_id": "c", "private_key": p384PEM}, "", false, "P-384; ES256 needs P-256"},
		{"es256 for rsa", map[string]string{"client_id": "c", "private_key": rsaKey.PEM, "algorithm": "ES256"}, "", false, "algorithm must be RS256 or PS256"},
		{"rs256 for ec", map[string]string{"client_id": "c", "private_key": ecKey.PEM, "algorithm": "RS256"}, "", false, "algorithm must be ES256"},
		{"key_id without key", map[string]string{"client_id": "c", "client_secret": secret, "key_id": "k"}, "", false, "key_id or algorithm is given without private_key"},
		{"certificate without key", map[string]string{"client_id": "c", "client_secret": secret, "certificate": cert}, "", false, "certificate is given without private_key"},
		{"certificate of another key", map[string]string{"client_id": "c", "private_key": rsaKey.PEM, "certificate": cert}, "", false, "certificate does not match private_key"},
		{"expired certificate", map[string]string{"client_id": "c", "private_key": ecKey.PEM, "certificate": expired}, "", false, "certificate expired on"},
		{"future certificate", map[string]string{"client_id": "c", "private_key": ecKey.PEM, "certificate": future}, "", false, "certificate is not valid before"},
		{"certificate not pem", map[string]string{"client_id": "c", "private_key": ecKey.PEM, "certificate": "MIIB"}, "", false, "certificate is not PEM"},
		{"key in certificate", map[string]string{"client_id": "c", "private_key": ecKey.PEM, "certificate": cert + ecKey.PEM}, "", false, `certificate holds a PEM "PRIVATE KEY" block`},
		{"neither secret nor key", map[string]string{"client_id": "c"}, "", false, "client_secret is missing or empty (private_key_jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("oauth-clients/keys", secretJSON(t, tt.fields))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse = %v; want nil", err)
				}
				if c.Signer() == nil || c.Algorithm != tt.alg || (c.Certificate() != nil) != tt.hasCert || c.KeyID != tt.fields["key_id"] {
					t.Errorf("Parse = %v (algorithm %q); want a signer, algorithm %q, certificate %t", c, c.Algorithm, tt.alg, tt.hasCert)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %v, nil; want an error containing %q", c, tt.wantErr)
			}
			msg := err.Error()
			if !errors.Is(err, ErrMalformed) || !strings.Contains(msg, `secret "oauth-clients/keys"`) || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("Parse error = %q; want ErrMalformed naming the secret and saying %q", msg, tt.wantErr)
			}
			for _, v := range []string{leakcheck.PEMBody(tt.fields["private_key"]), tt.fields["client_secret"]} {
				if piece, found := leakcheck.Find(msg, v); found && v != "" {
					t.Errorf("Parse error %q contains %q, a piece of a secret field", msg, piece)
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ca := oauthtest.NewCA()
	key := oauthtest.ECKey()
	withSecret, _ := Parse("s", secretJSON(t, map[string]string{"client_id": "c", "client_secret": secret}))
	withKey, _ := Parse("s", secretJSON(t, map[string]string{"client_id": "c", "private_key": key.PEM}))
	withCert, _ := Parse("s", secretJSON(t, map[string]string{"client_id": "c", "private_key": key.PEM, "certificate": ca.ClientCert("c", key)}))
	tests := []struct {
		creds   Credentials
		auth    string
		wantErr string
	}{
		{withSecret, "", ""},
		{withSecret, "client_secret_post", ""},
		{withSecret, "client_secret_basic", ""},
		{withSecret, "private_key_jwt", `private_key is missing or empty; auth private_key_jwt needs {"client_id", "private_key"}`},
		{withSecret, "tls_client_auth", `certificate is missing or empty; auth tls_client_auth needs {"client_id", "certificate", "private_key"}`},
		{withKey, "private_key_jwt", ""},
		{withKey, "client_secret_basic", `client_secret is missing or empty; auth client_secret_basic needs {"client_id", "client_secret"}`},
		{withKey, "tls_client_auth", "certificate is missing"},
		{withCert, "tls_client_auth", ""},
		{withCert, "private_key_jwt", ""},
		{withSecret, "none", `unknown auth method "none"`},
	}
	for _, tt := range tests {
		t.Run(tt.creds.String()+"/"+tt.auth, func(t *testing.T) {
			err := tt.creds.Check(tt.auth)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Check(%q) = %v; want nil", tt.auth, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `secret "s"`)):
				t.Errorf("Check(%q) = %v; want an error naming the secret and saying %q", tt.auth, err, tt.wantErr)
			}
		})
	}
}

// TestNoKeyInAnyRendering: credentials with a private key render without
// any piece of the key or the secret.
func TestNoKeyInAnyRendering(t *testing.T) {
	key := oauthtest.RSAKey()
	c, err := Parse("s", secretJSON(t, map[string]string{"client_id": "client-id-1", "client_secret": secret, "private_key": key.PEM, "key_id": "kid-1"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{c, &c} {
		for _, r := range securitytest.Renderings(v) {
			for _, s := range []string{secret, leakcheck.PEMBody(key.PEM), leakcheck.PEMBody(key.PKCS1PEM)} {
				if piece, found := leakcheck.Find(r.Text, s); found {
					t.Errorf("%s of %T = %q; it contains %q, a piece of a secret field", r.How, v, r.Text, piece)
				}
			}
		}
	}
}

func TestCertificateCheckedAgainstClock(t *testing.T) {
	key := oauthtest.ECKey()
	ca := oauthtest.NewCA()
	certPEM := ca.ClientCert("c", key)
	defer func(f func() time.Time) { timeNow = f }(timeNow)
	timeNow = func() time.Time { return time.Now().Add(72 * time.Hour) }
	_, err := Parse("s", secretJSON(t, map[string]string{"client_id": "c", "private_key": key.PEM, "certificate": certPEM}))
	if err == nil || !strings.Contains(err.Error(), "certificate expired on") {
		t.Fatalf("Parse three days later = %v; want certificate expired", err)
	}
}
