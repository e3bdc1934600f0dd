// Package readers holds tested readers of the token record (package
// tokenrecord) for the teams that do not write Go. It has no Go API: its
// files are Python and JavaScript to copy, and its test runs each of them
// against moto.
//
// # Files
//
//	tokenrecord.py          parse and check a record (stdlib only); TokenError
//	boto3_reader.py         TokenReader: boto3 GetParameter through an in-memory cache
//	powertools_reader.py    get_token: Powertools for AWS Lambda (Python) parameters
//	extension_reader.py     get_token: the AWS Parameters and Secrets Lambda Extension
//	tokenrecord.mjs         parse and check a record (no dependencies); TokenError
//	sdk-reader.mjs          TokenReader: @aws-sdk/client-ssm through an in-memory cache
//	powertools-reader.mjs   getToken: Powertools for AWS Lambda (TypeScript) parameters
//	requirements.txt        exact Python versions the tests run with
//	package.json, package-lock.json   exact npm versions the tests run with
//
// Copy tokenrecord.py or tokenrecord.mjs with the reader you use.
//
// # What every reader does
//
// Every reader applies the rules of package tokencache on every call:
//
//   - a token is served only while access_token is a non-empty string and
//     now + 60 s (the skew) is before expires_at;
//   - a cached record that is not usable (unreadable, inside the skew,
//     expired, or older than the maximum age of 300 s) forces a fresh read;
//     a freshly read record that is not usable is an error, never a token;
//   - when a read fails while the cached token is still usable by its
//     expiry, the cached token is served; an expired token is never served;
//   - after a failed read, a parameter is read again only after 5 s, so a
//     stalled rotator or SSM throttling does not turn every call into a read
//     of the account's shared Parameter Store quota;
//   - errors carry a kind (not_found, unreadable, expired, read_failed) and
//     name the parameter; they never contain the token or the raw record,
//     nor keep them reachable (Python: no __cause__ or __context__ holding a
//     JSONDecodeError; Node: no SyntaxError cause, no raw TypeError on the
//     JSON null).
//
// Powertools caches a parameter's raw value for max_age and knows nothing
// of expires_at; the recipes parse the cached value on every call and pass
// force_fetch (forceFetch) when it is not usable, and keep the last usable
// record because Powertools serves nothing when a read fails. They do not
// use the JSON transform: Powertools for TypeScript puts the first 10
// characters of a value that is not JSON into its error. The Extension
// caches for up to SSM_PARAMETER_STORE_TTL (300 s) and its API cannot skip
// that cache, so its recipe makes the fresh read with boto3 itself.
//
// # Tests
//
// TestReaders (readers_test.go) runs every reader against moto behind
// internal/mototest's counting proxy, and the Extension recipe against a
// loopback stand-in of the Extension's HTTP API backed by the same moto, for:
// a valid record, a record expiring inside the skew, an expired record, a
// value that is not JSON, a missing or empty access_token, the JSON null,
// unknown fields, a missing parameter, a ~4 KiB record, a rotation seen
// after the maximum age, repeated calls on a failing parameter, and a read
// failure with a valid cached token. Each
// case checks the token served (by hash), the error kind, the number of
// GetParameter calls, and that no 8-byte piece of any token or raw value
// appears in anything the reader printed or any error reached.
//
// make readers-deps installs the pinned dependencies into
// .build/readers/venv and .build/readers/node (make test runs it first).
// Without python3 or node, or without those folders, the test skips, and
// fails under CI=true.
package readers
