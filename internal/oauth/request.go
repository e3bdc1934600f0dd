package oauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
)

// ErrCredentials is wrapped by *Error.Err when the credentials lack what
// the auth method needs; nothing was sent.
var ErrCredentials = errors.New("credentials do not fit the auth method")

// AssertionType is the client_assertion_type of private_key_jwt (RFC 7523).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// check refuses, before any request, a request whose credentials do not
// fit its auth method. Errors name the secret and the field.
func (r Request) check() error {
	secret := fmt.Sprintf("secret %q", r.SecretID)
	if r.SecretID == "" {
		secret = "the credentials secret"
	}
	switch a := r.auth(); a {
	case profile.AuthClientSecretPost, profile.AuthClientSecretBasic:
		if r.ClientSecret == "" {
			return fmt.Errorf(`%w: auth %s needs client_secret in %s ({"client_id", "client_secret"})`, ErrCredentials, a, secret)
		}
	case profile.AuthPrivateKeyJWT:
		if r.Key == nil {
			return fmt.Errorf(`%w: auth private_key_jwt needs private_key in %s ({"client_id", "private_key", "key_id"}, PEM)`, ErrCredentials, secret)
		}
	case profile.AuthTLSClientAuth:
		if r.Certificate == nil {
			return fmt.Errorf(`%w: auth tls_client_auth needs certificate and private_key in %s ({"client_id", "certificate", "private_key"}, PEM)`, ErrCredentials, secret)
		}
		if u, err := url.Parse(r.TokenURL); err == nil && u.Scheme != "https" {
			return fmt.Errorf("%w: auth tls_client_auth presents the certificate in TLS, so token_url must be https, not %s", ErrCredentials, u.Scheme)
		}
	default:
		return fmt.Errorf("%w: unknown auth %q", ErrCredentials, a)
	}
	if r.ClientID == "" {
		return fmt.Errorf("%w: client_id is empty in %s", ErrCredentials, secret)
	}
	return nil
}

// encoded is one attempt's request: a fresh client assertion each time.
type encoded struct {
	body          []byte
	contentType   string
	authorization string // Authorization header, for client_secret_basic
	assertion     string // the client assertion, to scrub from errors
}

// encode builds the body and authentication of one attempt.
func (c *Client) encode(r Request) (encoded, error) {
	fields := map[string]string{}
	for k, v := range r.Params {
		fields[k] = v
	}
	fields["grant_type"] = "client_credentials"
	if r.Audience != "" {
		fields["audience"] = r.Audience
	}
	if r.Scope != "" {
		fields["scope"] = r.Scope
	}
	var e encoded
	switch r.auth() {
	case profile.AuthClientSecretBasic:
		// RFC 6749 section 2.3.1: each form-urlencoded, then Base64.
		pair := url.QueryEscape(r.ClientID) + ":" + url.QueryEscape(r.ClientSecret)
		e.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(pair))
	case profile.AuthPrivateKeyJWT:
		a, err := c.assertion(r)
		if err != nil {
			return encoded{}, err
		}
		fields["client_id"] = r.ClientID
		fields["client_assertion_type"] = AssertionType
		fields["client_assertion"] = a
		e.assertion = a
	case profile.AuthTLSClientAuth:
		fields["client_id"] = r.ClientID
	default:
		fields["client_id"] = r.ClientID
		fields["client_secret"] = r.ClientSecret
	}
	if r.Form {
		v := url.Values{}
		for k, val := range fields {
			v.Set(k, val)
		}
		e.body, e.contentType = []byte(v.Encode()), "application/x-www-form-urlencoded"
		return e, nil
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return encoded{}, fmt.Errorf("encode body: %w", err)
	}
	e.body, e.contentType = b, "application/json"
	return e, nil
}

// secrets are the values no error may contain, in every form the request
// carried them, since an endpoint echoes what it received: the client
// secret as is, form-urlencoded (a form body, each half of the Basic pair)
// and JSON-escaped (a JSON body); the Basic credentials as sent and
// re-encoded without the escaping (an endpoint that decodes and echoes
// them); and the attempt's assertion (base64url, the same in every
// encoding).
func (e encoded) secrets(r Request) []string {
	var out []string
	if s := r.ClientSecret; s != "" {
		quoted, _ := json.Marshal(s) // a string always marshals
		out = append(out, s, url.QueryEscape(s), string(quoted[1:len(quoted)-1]))
	}
	if basic, ok := strings.CutPrefix(e.authorization, "Basic "); ok {
		out = append(out, basic, base64.StdEncoding.EncodeToString([]byte(r.ClientID+":"+r.ClientSecret)))
	}
	if e.assertion != "" {
		out = append(out, e.assertion)
	}
	return out
}
