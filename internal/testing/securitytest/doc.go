// Package securitytest holds what the security tests of several packages
// share, so that each guarantee is checked the same way everywhere:
//
//   - Renderings: every way a value reaches a log line or an error message
//     (the fmt verbs, slog's JSON and text handlers, directly and nested in a
//     group), to scan with package leakcheck for the secrets it holds;
//   - URLCases: URLs that may or may not carry a client secret or an access
//     token (https everywhere, plain http only to a loopback host), checked
//     against every place that decides it: urlpolicy.Check, token_url in a profiles document, oauth.Fetch,
//     the consumer's API_BASE_URL and Source.Transport in tokencache.
//
// It is test support: no production code imports it.
package securitytest
