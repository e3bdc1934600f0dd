// Package oauth performs the OAuth 2.0 client_credentials exchange with any
// standard token endpoint, authenticating with client_secret_post,
// client_secret_basic, private_key_jwt or tls_client_auth as the profile
// says:
//
//	tok, err := client.Fetch(ctx, oauth.NewRequest(p, creds))
//
// Fetch checks that the credentials have what the method needs before any
// request, retries network errors, 429 and 5xx answers a bounded number of
// times, never follows a redirect (it would resend the secret), and
// validates the answer: anything but a usable Bearer token with a known
// lifetime is an error, never a token. What is sent, what is accepted and
// the retry limits: docs/profiles.md.
//
// Errors from the token endpoint are *Error, matched with errors.As; it
// names the auth method and body encoding used and the profile fields that
// change them. No error, log line or String method of this package
// contains the client secret, the private key, a client assertion or the
// access token. A Client is safe for concurrent use.
package oauth
