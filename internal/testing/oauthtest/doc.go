// Package oauthtest is an httptest-style fake OAuth 2.0 token endpoint that
// behaves like the partner providers this project serves, plus a fake
// partner API that accepts only the tokens it issued. Tests, benchmarks and
// the local demo use it.
//
// Each Provider validates requests as the real one documents (Examples adds
// Cognito with client_secret_basic, Okta with private_key_jwt and
// Salesforce without expires_in): AVIV's
// endpoints require the right audience (and intermediary_id for CaaS),
// Pliant requires its audience, the partner API requires
// Accept: application/json. Every provider rejects unknown clients with 401
// invalid_client and requests without a User-Agent with 400.
//
// Faults (status codes, bodies, delays, dropped connections) can be queued
// for the next requests; SetLatency delays every request, as a distant
// endpoint would, and SetSlowAnswer every token's answer, the token already
// issued. A Server is safe for concurrent use.
package oauthtest
