// Package rotate decides which profiles' tokens are due, fetches those and
// publishes them, and reports the run.
//
// A token is due when its record is missing or unreadable, when it was
// issued for another request configuration (token URL, audience, scope,
// params or client id), or when less than refresh_before (brought forward by
// a small per-token spread, see Rotator.Spread) is left before expires_at.
// Nothing else is refreshed: the providers require each token to be reused
// for its whole lifetime.
//
// A run reads only the secrets of due profiles, each distinct secret once.
// Every profile is tried; one failing profile never stops the others, and a
// failed refresh never touches the stored token. Two runs at once never
// fetch the same profile twice: a run with something due takes one lease
// (Rotator.Lease) before fetching and re-reads the due records under it.
//
// # Parameter Store's quotas
//
// PutParameter is throttled per account and region far below what a run
// can fetch (3/s with standard throughput, 10/s with higher throughput, as
// AWS Support quotes it), and a token fetched but never stored is a token
// request the provider counted for nothing. So a run plans its writes
// before it fetches: the profiles to refresh are ordered most urgent first
// (no readable record, then the nearest expiry), each gets a write slot
// 1/(0.9 x WriteRate) apart (the rest is headroom for retries), and a token
// is requested shortly (2 s) before its slot, only if that slot comes
// before 11/16 of the lease and a whole token request timeout (the
// Fetcher's, 10 s by default) is left then before token requests end at
// 3/4 of it: a request cut off by the run's end may have been answered
// with a token the provider counted, and lost. What does not
// fit is Deferred: reported, logged as a warning and counted, not a
// failure, and taken first by the next run (Interval later; after a run
// whose lease outlasts Interval, up to 5 minutes after the lease, Lambda's
// longest retry backoff for the throttled scheduled events), most urgent
// first; a deferred profile that the next runs' own plan (the deferred
// ahead of it written first, at the same rate and as many per run) would
// not write a minute before its stored token expires is a failure that
// names the quota. Writes throttled by other applications are retried by the
// SDK within the write deadline (7/8 of the lease; the rotator's clients
// have no client-side retry quota). Once a write meets the account's
// parameter limit (10,000 standard parameters), no token is requested for
// another profile that would need a new parameter.
//
// The lease is sized to the work: the time the run's writes take at
// 0.9 x WriteRate, x16/11, plus 30 s, at least 2 minutes, and never past
// the deadline of the run's context. With the function's 15-minute timeout
// a first run after deploy stores about 1,650 profiles at 3/s (5,500 at
// 10/s) and defers the rest; a run that dies holds the lease no longer than
// its work needed, and never past the invocation's own end.
//
// A Rotator may run several Runs at once; its fields must not change while
// it runs.
package rotate
