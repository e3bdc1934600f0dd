package conformance

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4/generates"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"
	"github.com/golang-jwt/jwt/v5"
)

const (
	goOAuth2ID     = "go-oauth2-client"
	goOAuth2Secret = "Zq7Wm3Xk9Rv2Lp5Tn8Bc"
)

// newGoOAuth2 starts a github.com/go-oauth2/oauth2/v4 token endpoint with
// one client and one-hour tokens. form selects its ClientFormHandler
// (client_secret_post) instead of its default ClientBasicHandler
// (client_secret_basic); jwtTokens makes its access tokens JWTs.
func newGoOAuth2(t *testing.T, form, jwtTokens bool) string {
	t.Helper()
	manager := manage.NewDefaultManager()
	manager.SetClientTokenCfg(&manage.Config{AccessTokenExp: time.Hour})
	manager.MustTokenStorage(store.NewMemoryTokenStore())
	clients := store.NewClientStore()
	if err := clients.Set(goOAuth2ID, &models.Client{ID: goOAuth2ID, Secret: goOAuth2Secret}); err != nil {
		t.Fatal(err)
	}
	manager.MapClientStorage(clients)
	if jwtTokens {
		manager.MapAccessGenerate(generates.NewJWTAccessGenerate("", []byte("go-oauth2-signing-key"), jwt.SigningMethodHS256))
	}
	srv := server.NewDefaultServer(manager)
	srv.SetAllowGetAccessRequest(false)
	if form {
		srv.SetClientInfoHandler(server.ClientFormHandler)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = srv.HandleTokenRequest(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL + "/oauth/token"
}

func TestGoOAuth2(t *testing.T) {
	secret := map[string]string{"client_id": goOAuth2ID, "client_secret": goOAuth2Secret}
	tests := []struct {
		name            string
		form, jwtTokens bool
		extra           string
		source          string
	}{
		{"client_secret_basic", false, false, "    auth: client_secret_basic\n", "expires_in"},
		{"client_secret_basic with scope, JWT tokens", false, true, "    auth: client_secret_basic\n    scope: read\n", ""},
		{"client_secret_post form", true, false, "    body: form\n", "expires_in"},
		{"client_secret_post form, JWT tokens", true, true, "    auth: client_secret_post\n    body: form\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := fetch(t, nil, newGoOAuth2(t, tt.form, tt.jwtTokens), tt.extra, secret)
			wantToken(t, tok, err, tt.source)
		})
	}
}

// TestGoOAuth2Rejections: the failures of the issue (a Basic-only server
// answering invalid_client to a body secret, a form-only server refusing
// JSON) now say what was sent and what to change.
func TestGoOAuth2Rejections(t *testing.T) {
	secret := map[string]string{"client_id": goOAuth2ID, "client_secret": goOAuth2Secret}
	tests := []struct {
		name  string
		form  bool
		extra string
		want  []string
	}{
		{"secret in a json body to a basic-only server", false, "", []string{"auth client_secret_post and a json body", "auth (client_secret_basic"}},
		{"secret in a form body to a basic-only server", false, "    body: form\n", []string{`"invalid_client"`, "auth client_secret_post and a form body", "auth (client_secret_basic"}},
		{"json body to a form server", true, "", []string{"auth client_secret_post and a json body", "body: form"}},
		{"basic to a form server", true, "    auth: client_secret_basic\n", []string{"auth client_secret_basic and a form body", "auth (client_secret_post"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fetch(t, nil, newGoOAuth2(t, tt.form, false), tt.extra, secret)
			wantRejection(t, err, tt.want...)
		})
	}
}
