package conformance

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// newMTLS starts an RFC 8705 tls_client_auth token endpoint: TLS with a
// certificate from ca, a client certificate from ca required and verified,
// and the body's client_id matched to the certificate's subject CN (the
// tls_client_auth_subject_dn registration). Tokens live an hour.
func newMTLS(t *testing.T, ca *oauthtest.CA) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_request"}`)
			return
		}
		id := r.PostForm.Get("client_id")
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != id || r.PostForm.Get("client_secret") != "" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"client certificate does not match client_id"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "mtls-token-" + id, "token_type": "Bearer", "expires_in": 3600})
	}))
	srv.TLS = ca.ServerTLS()
	srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &n
}

func mtlsClient(ca *oauthtest.CA) *oauth.Client {
	return &oauth.Client{HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}}}}
}

func TestTLSClientAuth(t *testing.T) {
	ca := oauthtest.NewCA()
	srv, _ := newMTLS(t, ca)
	for _, key := range []oauthtest.Key{oauthtest.ECKey(), oauthtest.RSAKey()} {
		for _, body := range []string{"", "    body: json\n"} {
			t.Run(fmt.Sprintf("%T%s", key.Signer, strings.TrimSpace(body)), func(t *testing.T) {
				secret := map[string]string{"client_id": "mtls-client", "certificate": ca.ClientCert("mtls-client", key), "private_key": key.PEM}
				if body != "" {
					// The fake reads form bodies only, like the RFC: JSON is refused with a hint.
					_, err := fetch(t, mtlsClient(ca), srv.URL+"/token", "    auth: tls_client_auth\n"+body, secret)
					wantRejection(t, err, "auth tls_client_auth and a json body", "body: form")
					return
				}
				tok, err := fetch(t, mtlsClient(ca), srv.URL+"/token", "    auth: tls_client_auth\n", secret)
				wantToken(t, tok, err, "expires_in")
			})
		}
	}
}

func TestTLSClientAuthRefusals(t *testing.T) {
	ca, other := oauthtest.NewCA(), oauthtest.NewCA()
	srv, requests := newMTLS(t, ca)
	key := oauthtest.ECKey()
	now := time.Now()

	// Refused before any request: an expired certificate.
	expired := ca.Issue("mtls-client", key.Public(), now.Add(-48*time.Hour), now.Add(-time.Hour), false)
	_, err := clientcred.Parse("clients/mtls", []byte(fmt.Sprintf(`{"client_id":"mtls-client","certificate":%q,"private_key":%q}`, expired, key.PEM)))
	if err == nil || !strings.Contains(err.Error(), `secret "clients/mtls"`) || !strings.Contains(err.Error(), "certificate expired on") {
		t.Errorf("clientcred.Parse(expired certificate) = %v; want an error naming the secret and the expiry", err)
	}

	// Refused by the server: a certificate from a CA it does not trust, and
	// one whose subject is another client.
	tests := []struct {
		name, cert string
		want       []string
	}{
		{"unknown CA", other.ClientCert("mtls-client", key), []string{"certificate"}},
		{"another client's certificate", ca.ClientCert("someone-else", key), []string{`"invalid_client"`, "auth tls_client_auth and a form body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := map[string]string{"client_id": "mtls-client", "certificate": tt.cert, "private_key": key.PEM}
			_, err := fetch(t, mtlsClient(ca), srv.URL+"/token", "    auth: tls_client_auth\n", secret)
			wantRejection(t, err, tt.want...)
		})
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("endpoint handled %d requests; want 1 (the unknown CA fails in the handshake)", n)
	}
}

// TestCertificateErrorsSayWhatToCheck: the errors of certificate-based
// auth name what to check instead of suggesting a client secret method
// (RFC 8705 defines tls_client_auth with form bodies only): a certificate
// refused with invalid_client, one whose CA the endpoint does not trust,
// and an endpoint whose own certificate comes from a CA this host does
// not trust.
func TestCertificateErrorsSayWhatToCheck(t *testing.T) {
	ca, other := oauthtest.NewCA(), oauthtest.NewCA()
	srv, _ := newMTLS(t, ca)
	key := oauthtest.ECKey()
	tests := []struct {
		name, cert string
		client     *oauth.Client
		want       []string
	}{
		{"refused with invalid_client", ca.ClientCert("someone-else", key), mtlsClient(ca),
			[]string{`"invalid_client"`, "auth tls_client_auth", "subject", "SAN", "registered for this client_id", "trusts the CA that issued it"}},
		{"client certificate from a CA the endpoint does not trust", other.ClientCert("mtls-client", key), mtlsClient(ca),
			[]string{"refused the client certificate", "trusts the CA that issued it"}},
		{"endpoint certificate from a CA this host does not trust", ca.ClientCert("mtls-client", key), &oauth.Client{},
			[]string{"signed by an authority this host does not trust", "SSL_CERT_FILE", "private CA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := map[string]string{"client_id": "mtls-client", "certificate": tt.cert, "private_key": key.PEM}
			_, err := fetch(t, tt.client, srv.URL+"/token", "    auth: tls_client_auth\n", secret)
			wantRejection(t, err, tt.want...)
			for _, wrong := range []string{"client_secret_post", "body (json", "another client authentication"} {
				if strings.Contains(err.Error(), wrong) {
					t.Errorf("Fetch error %q suggests %q; want only what to check about the certificates", err, wrong)
				}
			}
		})
	}
}
