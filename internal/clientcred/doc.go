// Package clientcred reads OAuth client credentials from AWS Secrets
// Manager: a JSON secret with client_id and, by the profile's auth method,
// client_secret or a private key and certificate (the fields:
// docs/profiles.md).
//
// Parse checks everything before any request (keys parse and match, the
// certificate is valid now); Credentials.Check says whether a secret has
// what an auth method needs. Errors name the secret, the field and the
// problem and never contain any part of the secret's value; Credentials'
// String, GoString and LogValue redact the client secret and the private
// key. A Reader is safe for concurrent use if its API is.
package clientcred
