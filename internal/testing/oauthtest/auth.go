package oauthtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client authentication methods a Provider may require (RFC 7591 names).
const (
	AuthPost  = "client_secret_post" // the default: client_id and client_secret in the body
	AuthBasic = "client_secret_basic"
	AuthJWT   = "private_key_jwt"
)

// Providers beyond the four partners, as the sample profiles in
// functions/rotator/profiles/examples describe them.
var (
	// Cognito wants client_secret_basic and form bodies; its access tokens
	// are JWTs.
	Cognito = Provider{Name: "cognito", Path: "/oauth2/token", ExpiresIn: 3600, Auth: AuthBasic, FormOnly: true, JWTTokens: true}
	// Okta's org authorization server wants private_key_jwt and forms.
	Okta = Provider{Name: "okta", Path: "/oauth2/v1/token", ExpiresIn: 3600, Auth: AuthJWT, FormOnly: true, JWTTokens: true}
	// OktaCustom is an Okta custom authorization server ("default") with a
	// service app's default, client_secret_basic.
	OktaCustom = Provider{Name: "okta-default", Path: "/oauth2/default/v1/token", ExpiresIn: 3600, Auth: AuthBasic, FormOnly: true, JWTTokens: true}
	// Salesforce answers client credentials without expires_in, with an
	// opaque token.
	Salesforce = Provider{Name: "sfdc", Path: "/services/oauth2/token", ExpiresIn: 7200, FormOnly: true, NoExpiresIn: true}
)

// Examples returns Cognito, Okta, OktaCustom and Salesforce.
func Examples() []Provider { return []Provider{Cognito, Okta, OktaCustom, Salesforce} }

// AddClientKey registers the public key that verifies a client's
// private_key_jwt assertions (RS256, PS256 or ES256).
func (s *Server) AddClientKey(id string, pub crypto.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = pub
}

// authenticate checks the client authentication p requires and returns
// the client id. A request using another method is refused as the real
// servers refuse it: invalid_client, with a Basic challenge where Basic is
// expected.
func (s *Server) authenticate(p Provider, r *http.Request, fields map[string]string, w http.ResponseWriter) (string, bool) {
	switch p.Auth {
	case AuthBasic:
		id, secret, ok := r.BasicAuth()
		if !ok || fields["client_secret"] != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+p.Name+`"`)
			return fields["client_id"], false
		}
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		return id, err1 == nil && err2 == nil && s.secretOK(id, secret)
	case AuthJWT:
		if fields["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return fields["client_id"], false
		}
		id, err := s.verifyAssertion(fields["client_assertion"], s.URL+"/"+p.Name+p.Path)
		return id, err == nil && (fields["client_id"] == "" || fields["client_id"] == id)
	default:
		if _, _, basic := r.BasicAuth(); basic {
			return fields["client_id"], false
		}
		return fields["client_id"], s.secretOK(fields["client_id"], fields["client_secret"])
	}
}

func (s *Server) secretOK(id, secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	want, ok := s.clients[id]
	return ok && secret != "" && hmac.Equal([]byte(want), []byte(secret))
}

// verifyAssertion checks an RFC 7523 client assertion: signature by the
// client's registered key, iss = sub, aud, an exp in the future, a jti not
// seen before. It returns the client id.
func (s *Server) verifyAssertion(a, aud string) (string, error) {
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("not a JWS")
	}
	var header struct{ Alg string }
	var claims struct {
		Iss, Sub, Aud, Jti string
		Exp                int64
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			return "", fmt.Errorf("part %d is not base64url JSON", i)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	pub := s.keys[claims.Sub]
	seen := s.jtis[claims.Jti]
	s.jtis[claims.Jti] = true
	s.mu.Unlock()
	switch {
	case pub == nil || claims.Iss != claims.Sub:
		return "", fmt.Errorf("unknown client")
	case claims.Aud != aud || claims.Exp <= s.now().Unix() || claims.Jti == "" || seen:
		return "", fmt.Errorf("bad claims")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	ok := false
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch header.Alg {
		case "RS256":
			ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
		case "PS256":
			ok = rsa.VerifyPSS(k, crypto.SHA256, sum[:], sig, nil) == nil
		}
	case *ecdsa.PublicKey:
		ok = header.Alg == "ES256" && len(sig) == 64 &&
			ecdsa.Verify(k, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	}
	if !ok {
		return "", fmt.Errorf("bad signature")
	}
	return claims.Sub, nil
}

// jwtToken makes a JWT-shaped access token whose exp is expires (signed
// with a key of this server; consumers only read its exp).
func (s *Server) jwtToken(provider string, expires time.Time) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"iss": s.URL + "/" + provider, "exp": expires.Unix(), "jti": newToken(provider)})
	in := h + "." + base64.RawURLEncoding.EncodeToString(claims)
	m := hmac.New(sha256.New, s.signingKey)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
