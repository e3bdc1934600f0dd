// # The request
//
// POST token_url with grant_type=client_credentials, client_id,
// client_secret, audience and scope when set, and every params entry; a JSON
// body unless the profile says body: form; the profile's headers,
// Accept: application/json unless the profile sets another, and always
// User-Agent: oauth-token-rotator/<version> (rotator).
//
// # The answer
//
// A non-empty access_token (no white space or control characters);
// expires_in a positive number of seconds (a numeric string such as "3600"
// is accepted, fractions are rounded down, more than 366 days is refused);
// token_type Bearer in any case, kept as returned, or absent or empty, which
// means Bearer (RFC 6749 requires it; several servers omit it). Any other
// token_type (mac, DPoP, …) is refused: consumers send the token as a Bearer
// token, so storing it would only move the failure to every consumer.
//
// # Retries and limits
//
// Network errors, timeouts, 429 and 5xx are tried up to 4 times with
// exponential backoff (0.5 s, 1 s, 2 s…, at most 8 s) and full jitter,
// waiting at least what Retry-After asks (seconds or an HTTP date) when that
// fits in the run; a Retry-After over 30 s ends the attempts at once. Other
// 4xx answers and certificate errors are not retried. Each attempt has a
// 10 s timeout and the answer is capped at 64 KiB. *Error carries the status,
// the OAuth error code and the number of attempts; provider text (error
// code, description, Location, token_type) is scrubbed of every 8-byte piece
// of the client secret and shortened before it reaches an error.
package oauth
