package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// TestBinaryTrustsPrivateCA: the built bootstrap refuses a token endpoint
// whose certificate a private CA signed, with an error that says how to
// trust that CA (SSL_CERT_FILE, the template's TokenEndpointCABundle), and
// once SSL_CERT_FILE names a bundle with the CA, as the template sets it,
// fetches and stores the token from that endpoint.
func TestBinaryTrustsPrivateCA(t *testing.T) {
	const secret = "Pc5Vb7Nm9Qw2Er4Ty6Ui"
	ca := oauthtest.NewCA()
	var issued atomic.Int32
	idp := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["client_secret"] != secret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"private-ca-token-%d-xxxxxxxx","token_type":"Bearer","expires_in":3600}`, issued.Add(1))
	}))
	idp.TLS = ca.ServerTLS()
	idp.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	idp.StartTLS()
	t.Cleanup(idp.Close)

	moto := mototest.Start(t)
	moto.MustPutClientSecret(t, "oauth-clients/private", "private-client", secret)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	doc := "profiles:\n  - name: private\n    token_url: " + idp.URL + "/oauth/token\n    secret_id: oauth-clients/private\n"
	bundle := filepath.Join(root, "profiles", "ca-bundle.pem")
	for file, data := range map[string][]byte{
		filepath.Join(root, "profiles", "private.yaml"): []byte(doc),
		bundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}),
	} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin := lambdatest.Build(t, "./functions/rotator")
	env := append(mototest.EnvFor(moto.URL), "PROFILES_FILE=profiles/private.yaml")
	run := func(env []string) lambdatest.Result {
		t.Helper()
		rt := lambdatest.Start(t, bin, env, lambdatest.WithTaskRoot(root), lambdatest.WithFunctionName("rotator"), lambdatest.WithTimeout(60*time.Second))
		defer rt.Close()
		res, err := rt.Invoke(context.Background(), []byte(`{"force": true}`))
		if err != nil {
			t.Fatalf("Invoke = %v", err)
		}
		if piece, found := leakcheck.Find(strings.Join(rt.Logs(), "\n"), secret); found {
			t.Errorf("logs contain %q, a piece of the client secret", piece)
		}
		return res
	}

	refused := run(env)
	if refused.Err == nil || !strings.Contains(refused.Err.ErrorMessage, "signed by an authority this host does not trust") ||
		!strings.Contains(refused.Err.ErrorMessage, "SSL_CERT_FILE") || issued.Load() != 0 {
		t.Fatalf("run without the CA = %s, %+v, %d tokens issued; want a failure that says to set SSL_CERT_FILE, no token", refused.Payload, refused.Err, issued.Load())
	}
	trusted := run(append(env, "SSL_CERT_FILE="+bundle))
	var sum rotate.Summary
	if trusted.Err != nil || json.Unmarshal(trusted.Payload, &sum) != nil || len(sum.Refreshed) != 1 || issued.Load() != 1 {
		t.Fatalf("run with SSL_CERT_FILE = %s, %+v, %d tokens issued; want private refreshed with one token", trusted.Payload, trusted.Err, issued.Load())
	}
}
