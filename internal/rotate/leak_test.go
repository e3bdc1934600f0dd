package rotate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
)

// TestEchoedSecretNotLogged runs the rotator, with the real token client,
// against endpoints that echo the client secret back in each encoding the
// request used (the form body, the JSON body, the Authorization: Basic
// header, the Basic pair re-encoded unescaped), and checks that neither
// its log lines nor its error contain the secret in any of them.
func TestEchoedSecretNotLogged(t *testing.T) {
	const clientID = "client id"
	const secret = `Pq7"Wx+9<Kz/Lm4&Rt=Vb\2 Ns>3Hy` // see leakcheck.TestEncodings
	echoes := map[string]func(r *http.Request, body string) string{
		"form":  func(_ *http.Request, body string) string { return body },
		"json":  func(_ *http.Request, body string) string { return body },
		"basic": func(r *http.Request, _ string) string { return r.Header.Get("Authorization") },
		"basic-reencoded": func(r *http.Request, _ string) string {
			id, pw, _ := r.BasicAuth()
			id, _ = url.QueryUnescape(id)
			pw, _ = url.QueryUnescape(pw)
			return base64.StdEncoding.EncodeToString([]byte(id + ":" + pw))
		},
	}
	fields := map[string]string{"form": "body: form", "json": "body: json", "basic": "auth: client_secret_basic", "basic-reencoded": "auth: client_secret_basic"}
	var doc strings.Builder
	doc.WriteString("profiles:\n")
	for name, echo := range echoes {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			b, _ := json.Marshal(map[string]string{"error": "invalid_request", "error_description": "could not read " + echo(r, string(body))})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(b)
		}))
		t.Cleanup(srv.Close)
		fmt.Fprintf(&doc, "  - name: %s\n    token_url: %s/token\n    secret_id: echo\n    %s\n", name, srv.URL, fields[name])
	}
	ps, err := profile.Parse([]byte(doc.String()), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.r.Profiles = ps
	h.r.Fetcher = &oauth.Client{}
	h.secrets.creds["echo"] = clientcred.Credentials{ClientID: clientID, ClientSecret: secret}
	sum, err := h.r.Run(context.Background(), Request{})
	if err == nil || len(sum.Failed) != len(echoes) {
		t.Fatalf("Run = %+v, %v; want every profile failed with the endpoint's rejection", sum, err)
	}
	forms := leakcheck.Encodings(clientID, secret)
	for what, text := range map[string]string{"log": h.logs.String(), "run error": err.Error()} {
		if piece, found := leakcheck.Find(text, forms...); found {
			t.Errorf("%s contains %q, a piece of the client secret as a request encoded it:\n%s", what, piece, text)
		}
		if n := strings.Count(text, "could not read"); n != len(echoes) {
			t.Errorf("%s quotes %d endpoint descriptions; want %d:\n%s", what, n, len(echoes), text)
		}
	}
}
