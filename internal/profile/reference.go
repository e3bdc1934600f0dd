// # Fields
//
//	name            required  letters, digits, '.', '_', '-' (at most 128), not ending in ".lock" (the
//	                          rotator's leases); unique. Names the record, log lines, metrics and errors
//	token_url       required  the token endpoint: https (http only for loopback hosts); no user info
//	secret_id       required  Secrets Manager name or ARN of the client credentials; several profiles may
//	                          share one (one AVIV credential pair, a profile per agency); read once per run
//	audience        optional  sent as "audience" (AVIV, Pliant); sandbox and production audiences differ
//	scope           optional  sent as "scope" when not empty
//	params          optional  extra body fields, such as AVIV CaaS's intermediary_id; grant_type,
//	                          client_id, client_secret, audience and scope cannot be overridden
//	headers         optional  extra request headers, such as Accept: application/json; Authorization,
//	                          Proxy-Authorization, Cookie, Content-Type, Content-Length, Host,
//	                          User-Agent and hop-by-hop headers cannot be set; a header given twice in
//	                          different case is refused
//	body            optional  json (default, application/json) or form (application/x-www-form-urlencoded)
//	refresh_before  optional  how long before expires_at the token is refreshed; a Go duration; default 15m
//	parameter       optional  the record's SSM parameter; default <TOKEN_PARAMETER_PREFIX>/<name>; must be
//	                          under that prefix (the only place the rotator may write), not ending in ".lock"
//
// Unknown fields, duplicate names or parameters, malformed names, missing
// required fields, bad durations and unknown body encodings are all refused,
// every problem at once, each naming the profile and the field:
//
//	profile: profile "broken" (profiles[5]): field token_url: "http://auth.example.com/t" must use https
//	(http is allowed only for loopback hosts)
//
// The bundled documents are functions/rotator/profiles/sandbox.yaml (sandbox
// and staging) and production.yaml; the template picks one by
// EnvironmentName, and make test validates both.
package profile
