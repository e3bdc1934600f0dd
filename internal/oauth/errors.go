package oauth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
)

// Error is a failed token request.
type Error struct {
	// StatusCode is the last HTTP status, or 0 when no answer came.
	StatusCode int
	// Code is the OAuth error code ("invalid_client"…), when the endpoint
	// sent one.
	Code string
	// Description is the endpoint's error_description, shortened, with the
	// client secret, whole or any 8-byte piece of it, removed in every
	// encoding the request carried it (as is, form-urlencoded,
	// JSON-escaped, in the Basic credentials).
	Description string
	// Attempts is how many requests were sent.
	Attempts int
	// Retryable reports whether the failure was transient (network, 429,
	// 5xx): a later run may succeed.
	Retryable bool
	// Err is the underlying cause.
	Err error
	// Auth and Body are the client authentication method and body
	// encoding the request used ("client_secret_post", "json"…).
	Auth, Body string
	// Challenge is the auth scheme of the answer's WWW-Authenticate
	// header ("Basic"…), when it had one.
	Challenge string
}

// Error says what failed: the status, the OAuth error code and
// description (scrubbed of the secrets), the cause, the attempts, and a hint
// of what to change.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("oauth: token request failed")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": status %d", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ", error %q", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, " (%s)", e.Description)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Attempts == 0 {
		b.WriteString(" (nothing was sent)")
	} else {
		fmt.Fprintf(&b, " after %d attempt(s)", e.Attempts)
	}
	b.WriteString(e.hint())
	return b.String()
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Sentinels wrapped by *Error.Err, matched with errors.Is.
var (
	ErrInvalidResponse = errors.New("invalid token response")
	ErrRedirect        = errors.New("token endpoint redirected; not followed, it would resend the client secret")
	ErrInsecureURL     = errors.New("token URL must use https (http only for loopback hosts)")
	// ErrNoTime: the run's deadline leaves less than a whole request
	// timeout, so no request was sent.
	ErrNoTime = errors.New("no time left in this run for a whole token request")
)

// rejectionCodes are the OAuth errors that may mean the endpoint expects
// another client authentication or body encoding.
var rejectionCodes = map[string]bool{
	"invalid_client": true, "unauthorized_client": true, "unsupported_grant_type": true, "invalid_request": true,
}

// Rejected reports whether the endpoint refused the request itself (400,
// 401, 415, or one of invalid_client, unauthorized_client,
// unsupported_grant_type, invalid_request), as a wrong client
// authentication or body encoding would make it.
func (e *Error) Rejected() bool {
	if e.Retryable {
		return false
	}
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnsupportedMediaType:
		return true
	}
	return e.StatusCode != 0 && rejectionCodes[e.Code]
}

// hint says, for a rejection, how the request was sent and which profile
// fields change that; for a certificate refused in the TLS handshake,
// which certificate to check.
func (e *Error) hint() string {
	if h := e.certificateHint(); h != "" {
		return h
	}
	if e.Auth == "" || !e.Rejected() {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "; sent with auth %s and a %s body", e.Auth, e.Body)
	if e.Challenge != "" {
		fmt.Fprintf(&b, "; the endpoint asks for WWW-Authenticate scheme %s", e.Challenge)
		if strings.EqualFold(e.Challenge, "Basic") && e.Auth != string(profile.AuthClientSecretBasic) {
			b.WriteString(": try the profile field auth: client_secret_basic")
		}
	}
	bodyHint := e.Body == string(profile.BodyJSON) &&
		(e.Code == "unsupported_grant_type" || e.Code == "invalid_request" || e.StatusCode == http.StatusUnsupportedMediaType)
	authHint := e.Code == "invalid_client" || e.Code == "unauthorized_client" || e.StatusCode == http.StatusUnauthorized
	if bodyHint {
		b.WriteString("; most token endpoints read only form bodies (RFC 6749): try the profile field body: form")
	}
	if e.Auth == string(profile.AuthTLSClientAuth) {
		// The certificate is the credential: another secret method is not
		// the fix, whatever the refusal (RFC 8705 defines form bodies
		// only, which bodyHint says when the body was JSON).
		b.WriteString("; check that the client certificate's subject (or SAN) is the one registered for this client_id at the provider, " +
			"and that the provider trusts the CA that issued it")
		return b.String()
	}
	if authHint {
		fmt.Fprintf(&b, "; if the credentials are right, the endpoint may expect another client authentication: set the profile field auth (%s) or body (json, form)", otherAuths(e.Auth))
	}
	if !bodyHint && !authHint {
		fmt.Fprintf(&b, "; the profile fields auth (%s) and body (json, form) change them", otherAuths(e.Auth))
	}
	return b.String()
}

// certificateHint says, for a TLS handshake that failed on a certificate,
// what to check: the endpoint's certificate chains to a CA this host does
// not trust (a private CA), or the endpoint refused the client certificate
// of tls_client_auth.
func (e *Error) certificateHint() string {
	var unknown x509.UnknownAuthorityError
	switch {
	case e.StatusCode != 0 || e.Err == nil:
		return ""
	case errors.As(e.Err, &unknown):
		return "; the token endpoint's certificate is signed by an authority this host does not trust: for a provider with a private CA, " +
			"set SSL_CERT_FILE in the rotator's environment to a PEM bundle of the system's CA certificates and that CA's certificate " +
			"(the template's TokenEndpointCABundle)"
	case e.Auth == string(profile.AuthTLSClientAuth) && certificateAlert(e.Err):
		return "; the token endpoint refused the client certificate in the TLS handshake: check that the provider trusts the CA that issued it, " +
			"that it has not expired, and that it is the one registered for this client_id"
	}
	return ""
}

func otherAuths(used string) string {
	var out []string
	for _, a := range profile.Auths {
		if string(a) != used {
			out = append(out, string(a))
		}
	}
	return strings.Join(out, ", ")
}

// challengeScheme returns the auth scheme of a WWW-Authenticate header
// (its first token), shortened; the parameters (realm…) are dropped.
func challengeScheme(h string) string {
	h = strings.TrimSpace(h)
	if i := strings.IndexAny(h, " ,"); i >= 0 {
		h = h[:i]
	}
	if !headerToken(h) {
		return ""
	}
	return truncate(h, 32)
}

func headerToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}
