// Package tokenrecord defines the token record the rotator writes to SSM
// Parameter Store and consumers read back, and how its parameter is named:
// the contract between the writer and every reader, in Go (package
// tokencache) or any other language (readers/).
//
// One SecureString parameter per profile, named ParameterName(prefix,
// profile): <prefix>/<profile>, DefaultPrefix ("/oauth-tokens") unless the
// deployment's TOKEN_PARAMETER_PREFIX says otherwise, or the profile's own
// "parameter". It holds a JSON object, field by field a Record:
//
//	{"access_token":"…","token_type":"Bearer","expires_at":"2026-11-23T10:00:00Z",
//	 "issued_at":"2026-11-22T10:00:00Z","profile":"aviv-caas-agency-42"}
//
// Readers ignore fields they do not know, so the writer may add fields. A
// reader serves a token only while it is valid with a margin
// (Record.ValidAt); the rotator replaces the record well before that, so a
// reader that reads it again from time to time never holds an expired
// token. From a shell:
//
//	aws ssm get-parameter --with-decryption --name /oauth-tokens/aviv-caas-agency-42 \
//	  --query Parameter.Value --output text | jq -r .access_token
//
// The package is pure: no I/O, no AWS. Parse refuses a record that breaks
// the contract; Marshal writes one.
package tokenrecord
