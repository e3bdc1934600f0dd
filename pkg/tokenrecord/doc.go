// Package tokenrecord defines the token record the rotator writes to SSM
// Parameter Store and consumers read back, and how parameters are named. It
// is the contract between the writer (the rotator) and every reader: package
// tokencache in Go, or any other language.
//
// # Where
//
// One parameter per profile, named ParameterName(prefix, profile):
// <prefix>/<profile>, the prefix being the deployment's
// TOKEN_PARAMETER_PREFIX, DefaultPrefix ("/oauth-tokens") when unset. A
// profile may name another parameter in its "parameter" field. Profile
// names are 1 to 128 letters, digits, '.', '_' and '-' (CheckProfileName).
// The parameter is a SecureString (read it WithDecryption), in the Standard
// tier while the value fits 4 KiB and the Advanced tier up to 8 KiB.
// Parameters ending in ".lock" beside the records are the rotator's leases,
// not records.
//
// # What
//
// A JSON object:
//
//	{"access_token":"…","token_type":"Bearer","expires_at":"2026-11-23T10:00:00Z",
//	 "issued_at":"2026-11-22T10:00:00Z","profile":"aviv-caas-agency-42"}
//
//	access_token  the bearer token, non-empty
//	token_type    "Bearer" (as the provider spelt it)
//	expires_at    RFC 3339 UTC; counted from when the token request was sent,
//	              so never later than the provider's own expiry
//	issued_at     RFC 3339 UTC; when the token request was sent
//	profile       the profile that produced the token
//
// Readers ignore fields they do not know, so the writer may add fields (it
// adds "fingerprint", a one-way hash of the request configuration that
// produced the token). A reader serves a token only while it is valid with a
// margin (Record.ValidAt); the rotator replaces the record well before that
// (the profile's refresh_before, 15 min by default), so a reader that reads
// the record again from time to time never holds an expired token. From a
// shell:
//
//	aws ssm get-parameter --with-decryption --name /oauth-tokens/aviv-caas-agency-42 \
//	  --query Parameter.Value --output text | jq -r .access_token
//
// Parse reads a record and refuses one that breaks the contract (wrapping
// ErrInvalid); Marshal writes one.
//
// The package is pure: no I/O, no AWS. Its types are safe to copy and to use
// from several goroutines once built. Record's String, GoString and LogValue
// never reveal the access token.
package tokenrecord
