// Package urlpolicy is the one rule for where a client secret or an access
// token may be sent: https anywhere, plain http only to a loopback host
// (localhost, 127.0.0.0/8, ::1), which tests and local runs use. The
// profiles document, the token request, the consumer function's
// API_BASE_URL and the consumer's http.RoundTripper all apply it.
package urlpolicy
