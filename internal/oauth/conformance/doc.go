// Package conformance holds tests only: the rotator's token exchange
// (profile.Parse → clientcred.Parse → oauth.NewRequest → oauth.Client.Fetch)
// against independent, widely used open-source OAuth 2.0 servers run
// in-process as test-only dependencies, and an mTLS endpoint behind an
// httptest TLS server with a test CA:
//
//   - github.com/ory/fosite: client_secret_basic, client_secret_post and
//     private_key_jwt with RS256, PS256 and ES256, JWT access tokens;
//   - github.com/go-oauth2/oauth2/v4: client_secret_basic (its default)
//     and client_secret_post (ClientFormHandler);
//   - tls_client_auth (RFC 8705), which neither implements: a TLS endpoint
//     that requires and verifies a client certificate issued by a test CA.
//
// Both servers read only form bodies; JSON bodies are covered by
// internal/testing/oauthtest's Auth0-style fakes. Every rejection these servers
// give a mis-configured profile is checked to name the auth method and
// body encoding used and the profile field to change. None of these
// modules is linked into the functions.
package conformance
