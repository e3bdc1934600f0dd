package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

func TestRejectionNamesMethodAndFields(t *testing.T) {
	tests := []struct {
		name      string
		auth      profile.Auth
		form      bool
		status    int
		challenge string
		body      string
		want      []string
		notWant   []string
	}{
		{"basic-only server", "", false, 401, `Basic realm="oauth"`, `{"error":"invalid_client"}`,
			[]string{"auth client_secret_post and a json body", "WWW-Authenticate scheme Basic", "auth: client_secret_basic", "set the profile field auth"}, nil},
		{"json refused", "", false, 400, "", `{"error":"unsupported_grant_type"}`,
			[]string{"auth client_secret_post and a json body", "body: form"}, nil},
		{"415", profile.AuthClientSecretBasic, false, 415, "", ``,
			[]string{"auth client_secret_basic and a json body", "body: form"}, []string{"scheme"}},
		{"invalid_client with basic", profile.AuthClientSecretBasic, true, 401, `Basic realm="x"`, `{"error":"invalid_client","error_description":"bad secret"}`,
			[]string{"auth client_secret_basic and a form body", "WWW-Authenticate scheme Basic", "client_secret_post, private_key_jwt, tls_client_auth"}, []string{"try the profile field auth: client_secret_basic"}},
		{"unauthorized_client form", profile.AuthPrivateKeyJWT, true, 400, "", `{"error":"unauthorized_client"}`,
			[]string{"auth private_key_jwt and a form body", "another client authentication"}, nil},
		{"invalid_request form", "", true, 400, "", `{"error":"invalid_request"}`,
			[]string{"auth client_secret_post and a form body", "the profile fields auth (client_secret_basic, private_key_jwt, tls_client_auth) and body (json, form) change them"}, nil},
		{"403 is not a rejection of the method", "", false, 403, "", `{"error":"access_denied"}`,
			nil, []string{"sent with auth"}},
		{"bearer challenge", "", true, 401, `Bearer error="invalid_token"`, ``,
			[]string{"WWW-Authenticate scheme Bearer"}, []string{"try the profile field auth: client_secret_basic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tt.challenge != "" {
					w.Header().Set("WWW-Authenticate", tt.challenge)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			r := Request{TokenURL: srv.URL, ClientID: "cid", ClientSecret: secret, Auth: tt.auth, Form: tt.form}
			if tt.auth == profile.AuthPrivateKeyJWT {
				r.Key = oauthtest.ECKey().Signer
			}
			_, err := newClient(&sleeps{}).Fetch(context.Background(), r)
			if err == nil {
				t.Fatal("Fetch succeeded; want a rejection")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Fetch error = %q; want it to contain %q", msg, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("Fetch error = %q; want it not to contain %q", msg, w)
				}
			}
		})
	}
}

// TestEchoedCredentialsScrubbed: an endpoint that echoes the client
// assertion or the Basic credentials in its error cannot put them into an
// error of this package.
func TestEchoedCredentialsScrubbed(t *testing.T) {
	for _, auth := range []profile.Auth{profile.AuthPrivateKeyJWT, profile.AuthClientSecretBasic} {
		t.Run(string(auth), func(t *testing.T) {
			var echoed string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				echoed = r.PostForm.Get("client_assertion") + r.Header.Get("Authorization")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error":"invalid_client","error_description":"rejected %s"}`, echoed)
			}))
			defer srv.Close()
			r := Request{TokenURL: srv.URL, ClientID: "cid", ClientSecret: secret, Auth: auth, Form: true, Key: oauthtest.RSAKey().Signer}
			_, err := newClient(&sleeps{}).Fetch(context.Background(), r)
			if err == nil || echoed == "" {
				t.Fatalf("Fetch = %v (endpoint echoed %d bytes); want a rejection", err, len(echoed))
			}
			for _, s := range []string{strings.TrimPrefix(echoed, "Basic "), secret} {
				if piece, found := leakcheck.Find(err.Error(), s); found {
					t.Errorf("Fetch error %q contains %q, a piece of the credentials sent", err, piece)
				}
			}
		})
	}
}

// TestTLSClientAuthRefusalHint: any refusal of a tls_client_auth request
// (400 with invalid_request, unsupported_grant_type or no code, 401, 415)
// says what to check about the certificate, and never suggests a
// secret-based method: with tls_client_auth the certificate is the
// credential. A JSON body still gets the form-body advice.
func TestTLSClientAuthRefusalHint(t *testing.T) {
	const certHint = "check that the client certificate's subject (or SAN) is the one registered for this client_id"
	for _, tt := range []struct {
		name   string
		status int
		code   string
		body   profile.Body
		want   []string
	}{
		{"400 invalid_request", 400, "invalid_request", profile.BodyForm, []string{certHint}},
		{"400 without a code", 400, "", profile.BodyForm, []string{certHint}},
		{"400 unsupported_grant_type", 400, "unsupported_grant_type", profile.BodyForm, []string{certHint}},
		{"400 invalid_client", 400, "invalid_client", profile.BodyForm, []string{certHint}},
		{"401 without a code", 401, "", profile.BodyForm, []string{certHint}},
		{"415 with a json body", 415, "", profile.BodyJSON, []string{"body: form", certHint}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &Error{StatusCode: tt.status, Code: tt.code, Attempts: 1, Auth: string(profile.AuthTLSClientAuth), Body: string(tt.body)}
			msg := e.Error()
			for _, w := range append(tt.want, "sent with auth tls_client_auth and a "+string(tt.body)+" body") {
				if !strings.Contains(msg, w) {
					t.Errorf("Error() = %q; want it to contain %q", msg, w)
				}
			}
			for _, wrong := range []string{"client_secret_post", "client_secret_basic", "another client authentication", "change them"} {
				if strings.Contains(msg, wrong) {
					t.Errorf("Error() = %q suggests %q; want the certificate to check, not a secret-based method", msg, wrong)
				}
			}
		})
	}
}
