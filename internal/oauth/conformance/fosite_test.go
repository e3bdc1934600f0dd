package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/storage"
	"github.com/ory/fosite/token/jwt"
	"golang.org/x/crypto/bcrypt"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

const fositeSecret = "Jd4Ns8Hq2Vx6Kw1Ry5Pm" // nothing else in the logs shares 8 bytes with it

// fositeServer is an ory/fosite token endpoint issuing JWT access tokens
// that live an hour, with one client per authentication method.
type fositeServer struct {
	*httptest.Server
	TokenURL string
	// stripExpiresIn removes expires_in from answers, as Salesforce's
	// client-credentials answers lack it.
	stripExpiresIn bool
}

func newFosite(t *testing.T) *fositeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fositeServer{TokenURL: "http://" + ln.Addr().String() + "/oauth2/token"}
	config := &fosite.Config{
		AccessTokenLifespan: time.Hour,
		TokenURL:            fs.TokenURL,
		GlobalSecret:        []byte("conformance-global-secret-32byte"),
		HashCost:            bcrypt.MinCost,
		// Set what fosite's getters would otherwise set lazily, racing
		// when the rotator sends requests concurrently.
		ScopeStrategy:            fosite.WildcardScopeStrategy,
		AudienceMatchingStrategy: fosite.DefaultAudienceMatchingStrategy,
		JWKSFetcherStrategy:      fosite.NewDefaultJWKSFetcherStrategy(),
	}
	config.ClientSecretsHasher = &fosite.BCrypt{Config: config}
	hash, err := bcrypt.GenerateFromPassword([]byte(fositeSecret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	store := storage.NewMemoryStore()
	client := func(id, method, alg string, key *oauthtest.Key) {
		c := &fosite.DefaultOpenIDConnectClient{
			DefaultClient: &fosite.DefaultClient{ID: id, Secret: hash, GrantTypes: []string{"client_credentials"},
				Scopes: []string{"orders.read"}, Audience: []string{"https://api.example.com"}},
			TokenEndpointAuthMethod:           method,
			TokenEndpointAuthSigningAlgorithm: alg,
		}
		if key != nil {
			c.Secret = nil
			c.JSONWebKeys = &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: id + "-key", Use: "sig", Algorithm: alg}}}
		}
		store.Clients[id] = c
	}
	rsaKey, ecKey := oauthtest.RSAKey(), oauthtest.ECKey()
	client("basic-client", "client_secret_basic", "", nil)
	client("post-client", "client_secret_post", "", nil)
	client("rs256-client", "private_key_jwt", "RS256", &rsaKey)
	client("ps256-client", "private_key_jwt", "PS256", &rsaKey)
	client("es256-client", "private_key_jwt", "ES256", &ecKey)

	signing := oauthtest.NewRSAKey().Signer
	keyGetter := func(context.Context) (any, error) { return signing, nil }
	provider := compose.Compose(config, store,
		&compose.CommonStrategy{CoreStrategy: compose.NewOAuth2JWTStrategy(keyGetter, compose.NewOAuth2HMACStrategy(config), config)},
		compose.OAuth2ClientCredentialsGrantFactory)

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		session := &oauth2.JWTSession{JWTClaims: &jwt.JWTClaims{}, JWTHeader: &jwt.Headers{}}
		ar, err := provider.NewAccessRequest(ctx, r, session)
		if err != nil {
			provider.WriteAccessError(ctx, w, ar, err)
			return
		}
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
		for _, a := range ar.GetRequestedAudience() {
			ar.GrantAudience(a)
		}
		resp, err := provider.NewAccessResponse(ctx, ar)
		if err != nil {
			provider.WriteAccessError(ctx, w, ar, err)
			return
		}
		if fs.stripExpiresIn {
			resp.SetExtra("expires_in", nil)
			rec := httptest.NewRecorder()
			provider.WriteAccessResponse(ctx, rec, ar, resp)
			var m map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &m)
			delete(m, "expires_in")
			var b bytes.Buffer
			_ = json.NewEncoder(&b).Encode(m)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b.Bytes())
			return
		}
		provider.WriteAccessResponse(ctx, w, ar, resp)
	})
	mux := http.NewServeMux()
	mux.Handle("/oauth2/token", handler)
	fs.Server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	fs.Start()
	t.Cleanup(fs.Close)
	return fs
}

func TestFosite(t *testing.T) {
	fs := newFosite(t)
	rsaKey, ecKey := oauthtest.RSAKey(), oauthtest.ECKey()
	secret := func(id string) map[string]string {
		return map[string]string{"client_id": id, "client_secret": fositeSecret}
	}
	keyed := func(id, pem, alg string) map[string]string {
		return map[string]string{"client_id": id, "private_key": pem, "key_id": id + "-key", "algorithm": alg}
	}
	tests := []struct {
		name   string
		extra  string
		secret map[string]string
	}{
		{"client_secret_basic", "    auth: client_secret_basic\n    scope: orders.read\n    audience: https://api.example.com\n", secret("basic-client")},
		{"client_secret_post form", "    body: form\n    scope: orders.read\n", secret("post-client")},
		{"private_key_jwt RS256", "    auth: private_key_jwt\n    scope: orders.read\n", keyed("rs256-client", rsaKey.PEM, "RS256")},
		{"private_key_jwt RS256 PKCS#1 without kid", "    auth: private_key_jwt\n", map[string]string{"client_id": "rs256-client", "private_key": rsaKey.PKCS1PEM}},
		{"private_key_jwt PS256", "    auth: private_key_jwt\n", keyed("ps256-client", rsaKey.PEM, "PS256")},
		{"private_key_jwt ES256", "    auth: private_key_jwt\n    scope: orders.read\n", keyed("es256-client", ecKey.PEM, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := fetch(t, nil, fs.TokenURL, tt.extra, tt.secret)
			wantToken(t, tok, err, "")
		})
	}
}

// TestFositeWithoutExpiresIn: an answer without expires_in whose access
// token is a JWT is stored with the JWT's exp.
func TestFositeWithoutExpiresIn(t *testing.T) {
	fs := newFosite(t)
	fs.stripExpiresIn = true
	tok, err := fetch(t, nil, fs.TokenURL, "    auth: client_secret_basic\n", map[string]string{"client_id": "basic-client", "client_secret": fositeSecret})
	wantToken(t, tok, err, "jwt exp")
}

func TestFositeRejections(t *testing.T) {
	fs := newFosite(t)
	tests := []struct {
		name   string
		extra  string
		secret map[string]string
		want   []string
	}{
		{"default json body", "", map[string]string{"client_id": "post-client", "client_secret": fositeSecret},
			[]string{"auth client_secret_post and a json body", "body: form"}},
		{"post to a basic client", "    body: form\n", map[string]string{"client_id": "basic-client", "client_secret": fositeSecret},
			[]string{`"invalid_client"`, "auth client_secret_post and a form body", "set the profile field auth (client_secret_basic, private_key_jwt, tls_client_auth)"}},
		{"wrong secret", "    auth: client_secret_basic\n", map[string]string{"client_id": "basic-client", "client_secret": "wrong-secret-value"},
			[]string{"status 401", "auth client_secret_basic and a form body"}},
		{"assertion with the wrong key", "    auth: private_key_jwt\n", map[string]string{"client_id": "es256-client", "private_key": oauthtest.NewECKey().PEM, "key_id": "es256-client-key"},
			[]string{`"invalid_client"`, "auth private_key_jwt and a form body"}},
		{"assertion for another audience", "    auth: private_key_jwt\n    assertion_audience: https://elsewhere.example/\n", map[string]string{"client_id": "es256-client", "private_key": oauthtest.ECKey().PEM},
			[]string{`"invalid_client"`, "auth private_key_jwt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fetch(t, nil, fs.TokenURL, tt.extra, tt.secret)
			wantRejection(t, err, tt.want...)
		})
	}
}

// TestFositeClockBehind: fosite checks a client assertion's iat and nbf
// against its own clock with no leeway, as many servers do; a server whose
// clock is 30 s behind the rotator's must still accept the assertion
// (RFC 7523 section 3 makes nbf and iat optional; RFC 7519 section 4.1.5
// allows for clock skew).
func TestFositeClockBehind(t *testing.T) {
	fs := newFosite(t)
	jwt.TimeFunc = func() time.Time { return time.Now().Add(-30 * time.Second) }
	t.Cleanup(func() { jwt.TimeFunc = time.Now })
	rsaKey, ecKey := oauthtest.RSAKey(), oauthtest.ECKey()
	for _, tt := range []struct{ name, id, pem, alg string }{
		{"RS256", "rs256-client", rsaKey.PEM, "RS256"},
		{"ES256", "es256-client", ecKey.PEM, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := fetch(t, nil, fs.TokenURL, "    auth: private_key_jwt\n",
				map[string]string{"client_id": tt.id, "private_key": tt.pem, "key_id": tt.id + "-key", "algorithm": tt.alg})
			wantToken(t, tok, err, "")
		})
	}
}
