package conformance

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// TestBootstrapStoresTokens drives the built rotator bootstrap (the
// Makefile's flags, through the Lambda Runtime API, with moto for AWS)
// against fosite, go-oauth2 and the mTLS endpoint: one profile per client
// authentication method each supports, plus a fosite answer without
// expires_in. Every profile's token is stored in SSM with the expiry the
// server gave; a second run requests nothing; a mis-configured profile's
// failure names the method, the body and the field to change, and no log
// line holds a piece of a secret, key or token.
func TestBootstrapStoresTokens(t *testing.T) {
	moto := mototest.Start(t)
	fs, noExp := newFosite(t), newFosite(t)
	noExp.stripExpiresIn = true
	basicSrv, formSrv := newGoOAuth2(t, false, false), newGoOAuth2(t, true, true)
	ca := oauthtest.NewCA()
	mtls, _ := newMTLS(t, ca)
	rsaKey, ecKey := oauthtest.RSAKey(), oauthtest.ECKey()

	secrets := map[string]map[string]string{
		"fosite/basic":  {"client_id": "basic-client", "client_secret": fositeSecret},
		"fosite/post":   {"client_id": "post-client", "client_secret": fositeSecret},
		"fosite/rs256":  {"client_id": "rs256-client", "private_key": rsaKey.PEM, "key_id": "rs256-client-key"},
		"fosite/ps256":  {"client_id": "ps256-client", "private_key": rsaKey.PKCS1PEM, "key_id": "ps256-client-key", "algorithm": "PS256"},
		"fosite/es256":  {"client_id": "es256-client", "private_key": ecKey.PKCS1PEM, "key_id": "es256-client-key"},
		"go-oauth2/any": {"client_id": goOAuth2ID, "client_secret": goOAuth2Secret},
		"mtls/client":   {"client_id": "mtls-client", "certificate": ca.ClientCert("mtls-client", ecKey), "private_key": ecKey.PEM},
	}
	putSecrets(t, moto, secrets)
	profiles := []entry{
		{"fosite-basic", fs.TokenURL, "fosite/basic", "auth: client_secret_basic\n    scope: orders.read"},
		{"fosite-post", fs.TokenURL, "fosite/post", "body: form"},
		{"fosite-rs256", fs.TokenURL, "fosite/rs256", "auth: private_key_jwt"},
		{"fosite-ps256", fs.TokenURL, "fosite/ps256", "auth: private_key_jwt"},
		{"fosite-es256", fs.TokenURL, "fosite/es256", "auth: private_key_jwt"},
		{"fosite-no-expires-in", noExp.TokenURL, "fosite/basic", "auth: client_secret_basic"},
		{"go-oauth2-basic", basicSrv, "go-oauth2/any", "auth: client_secret_basic"},
		{"go-oauth2-post", formSrv, "go-oauth2/any", "body: form"},
		{"mtls", mtls.URL + "/token", "mtls/client", "auth: tls_client_auth"},
	}
	doc := document(profiles)
	root := t.TempDir()
	caFile := filepath.Join(root, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	writeProfiles := func(extra string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(root, "profiles"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "profiles", "conformance.yaml"), []byte(doc+extra), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeProfiles("")
	bin := lambdatest.Build(t, "./functions/rotator")
	// SSL_CERT_FILE: the bootstrap trusts the test CA of the mTLS endpoint.
	env := append(mototest.EnvFor(moto.URL), "PROFILES_FILE=profiles/conformance.yaml", "ENVIRONMENT=conformance", "SSL_CERT_FILE="+caFile)
	rt := lambdatest.Start(t, bin, env, lambdatest.WithTaskRoot(root), lambdatest.WithFunctionName("rotator"), lambdatest.WithTimeout(60*time.Second))

	invoke := func() (rotate.Summary, *lambdatest.FunctionError) {
		t.Helper()
		res, err := rt.Invoke(context.Background(), []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		var sum rotate.Summary
		if res.Err == nil {
			if err := json.Unmarshal(res.Payload, &sum); err != nil {
				t.Fatal(err)
			}
		}
		return sum, res.Err
	}
	sum, ferr := invoke()
	if ferr != nil || len(sum.Refreshed) != len(profiles) {
		t.Fatalf("first run = %+v, %v; want all %d profiles refreshed", sum, ferr, len(profiles))
	}
	tokens := storedTokens(t, moto, names(profiles))
	if sum, ferr := invoke(); ferr != nil || len(sum.Skipped) != len(profiles) {
		t.Errorf("second run = %+v, %v; want every profile skipped", sum, ferr)
	}

	// A profile left at the defaults against a Basic-only server: refused,
	// and the failure says what was sent and what to change.
	writeProfiles(fmt.Sprintf("  - name: go-oauth2-defaults\n    token_url: %s\n    secret_id: go-oauth2/any\n", basicSrv))
	rt.Close()
	rt2 := lambdatest.Start(t, bin, env, lambdatest.WithTaskRoot(root), lambdatest.WithFunctionName("rotator"), lambdatest.WithTimeout(60*time.Second))
	res, err := rt2.Invoke(context.Background(), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || !strings.Contains(res.Err.ErrorMessage, "go-oauth2-defaults") ||
		!strings.Contains(res.Err.ErrorMessage, "auth client_secret_post and a json body") || !strings.Contains(res.Err.ErrorMessage, "body: form") {
		t.Errorf("run with a mis-configured profile = %+v; want its failure to name the method, the body and the field", res.Err)
	}
	rt2.Close()

	known := append(tokens, fositeSecret, goOAuth2Secret, leakcheck.PEMBody(rsaKey.PEM), leakcheck.PEMBody(ecKey.PEM))
	for _, l := range append(rt.Logs(), rt2.Logs()...) {
		if piece, found := leakcheck.Find(l, known...); found {
			t.Errorf("log line holds %q: %s", piece, l)
		}
	}
}

// entry is one profile of the conformance document.
type entry struct{ name, url, secret, extra string }

func document(ps []entry) string {
	var doc strings.Builder
	doc.WriteString("profiles:\n")
	for _, p := range ps {
		fmt.Fprintf(&doc, "  - name: %s\n    token_url: %s\n    secret_id: %s\n    %s\n", p.name, p.url, p.secret, p.extra)
	}
	return doc.String()
}

func names(ps []entry) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}

func putSecrets(t *testing.T, moto *mototest.Server, secrets map[string]map[string]string) {
	t.Helper()
	for id, s := range secrets {
		b, _ := json.Marshal(s)
		if err := moto.PutSecret(context.Background(), id, string(b)); err != nil {
			t.Fatal(err)
		}
	}
}

// storedTokens reads each profile's record from SSM, checks that it lives
// about the hour the servers give, and returns the tokens.
func storedTokens(t *testing.T, moto *mototest.Server, profiles []string) []string {
	t.Helper()
	cfg, err := moto.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := ssm.NewFromConfig(cfg)
	var tokens []string
	for _, name := range profiles {
		out, err := client.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(tokenrecord.ParameterName("", name)), WithDecryption: aws.Bool(true)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rec, err := tokenrecord.Parse([]byte(aws.ToString(out.Parameter.Value)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if life := rec.ExpiresAt.Sub(rec.IssuedAt); life > time.Hour || life < 58*time.Minute {
			t.Errorf("%s: stored lifetime %v; want about 1h", name, life)
		}
		tokens = append(tokens, rec.AccessToken)
	}
	return tokens
}
