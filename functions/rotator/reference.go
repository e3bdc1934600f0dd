// # Invocations
//
//	event                                            what it does
//	the EventBridge scheduled event, {} or empty     refreshes every profile whose token is due, nothing else
//	{"force": true, "profiles": ["a", "b"]}          refreshes those now, due or not (all when profiles is
//	                                                 omitted); an unknown name refuses the whole request
//	{"profiles": ["a"]}                              a scheduled run restricted to those profiles
//	{"check_credentials": true}                      also reads every profile's secret and refreshes those
//	                                                 whose client_id changed (the template runs it hourly)
//	{"status": true}                                 answers rotate.Status: every profile's expiry, state
//	                                                 (ok, due, deferred, failing) and why, configuration
//	                                                 match; no token request, no secret read, no token shown
//	{"credentials_changed": ["oauth-clients/aviv"]}  refreshes the profiles of that secret now (reason
//	                                                 credentials-changed): proves a new value
//	a Secrets Manager change event                   the same, for the event's secret: Secret Label Updated
//	                                                 (AWSCURRENT), or through CloudTrail PutSecretValue,
//	                                                 UpdateSecret and RotationSucceeded; events that change no
//	                                                 value in use (another label, AWSPENDING, a failed call) are
//	                                                 logged and ignored
//
// Sample events are in events/ (scheduled.json, force.json, status.json, and
// the three change events with the AWS documentation they come from in
// credentials_test.go); docs/operating.md says what the account needs.
//
// # When a token is due
//
// When its record is missing or unreadable, belongs to another profile, was
// issued for another configuration (token URL, audience, scope or params
// changed in the document, or the client id changed), or when less than
// refresh_before is left before expires_at. That last moment is brought
// forward by a per-token spread within 5 % of the token's lifetime (at least
// 10 min, at most 1 h, at most half the lifetime left after refresh_before),
// derived from the profile name and issue time, so that tokens fetched
// together do not fall due together again; a refresh is never later than
// refresh_before. A scheduled run reads only the secrets of due profiles, each
// distinct secret once, so a changed client_id is seen when the secret is read
// anyway or by a check_credentials run; force the profiles to switch at once.
//
// # The answer
//
// Every profile is tried; one failing profile never stops the others, and a
// failed refresh leaves the stored token exactly as it was. The answer is a
// JSON summary:
//
//	{"refreshed":[{"profile":"partner-sandbox","action":"refreshed","reason":"expires at …, refresh due at …",
//	   "parameter":"/oauth-tokens/partner-sandbox","expires_at":"2026-11-22T11:50:00Z"}],
//	 "skipped":[{"profile":"pliant-staging","action":"skipped","reason":"valid until …", …}],
//	 "failed":[]}
//
// If any profile failed, the invocation fails with an error naming each
// failed profile and its reason (rotate: 1 profile(s) failed: pliant-staging
// (oauth: token request failed: status 401, error "invalid_client" …)), so
// Lambda's Errors metric, the alarms and the on-failure destination see it. A
// run stops starting new refreshes 5 s before the Lambda deadline.
//
// # Concurrent runs
//
// Reserved concurrency 1 keeps the runs of one stack apart, but not a manual
// run elsewhere or a second stack on the same prefix. So a run with anything
// due first takes a lease: the String parameter
// <TOKEN_PARAMETER_PREFIX>/.rotator.lock, created with Overwrite=false, which
// SSM creates atomically. A run that finds it held skips its due profiles
// ("another rotator run is refreshing tokens"); the next run picks them up. A
// dead run's lease expires after 2 minutes and is taken over by exactly one
// run. Counted from before the lease is asked for, a run's re-reads and token
// requests end by 90 s, its writes by 105 s, its release by 112.5 s. Under the
// lease the run re-reads the due records (batches of 10) and skips a record
// whose version moved since its first read ("refreshed by a concurrent run").
// The cost is 3 calls per run with something due plus a tenth of a re-read per
// due profile; a run with nothing due takes no lease.
//
// # When an endpoint is down
//
// Each profile of a dead endpoint can spend about 40 s on its retries. Once two
// profiles of one token endpoint host have failed with transient errors
// (network, 429, 5xx after their retries), that host's remaining profiles fail
// at once in this run ("not requested: 2 other profiles of … failed in this
// run"), so one provider's outage cannot starve the others; the next run tries
// them all again. A 4xx answer is about one profile and never has this effect.
//
// # Logs
//
// JSON lines (log/slog) on stdout: one line per profile per run with profile,
// action (refreshed, skipped, failed), reason, parameter and expires_at, and,
// when a token was requested, token_request (its reason: missing, unreadable,
// expiring, configuration-changed, forced, credentials-changed),
// replaced_after_s and previous_lifetime_s (how long the replaced token had
// been used, of its lifetime), lifetime_s and early_request; one
// "run finished" line; a warning when a token's lifetime is not longer than
// its refresh_before (it would be fetched on every run); CloudWatch EMF lines
// (ProfilesRefreshed, ProfilesSkipped, ProfilesFailed, ProfilesDeferred,
// MinSecondsUntilExpiry, TokenRequests, EarlyTokenRequests and SSMThrottles
// per run; SecondsUntilExpiry per profile; TokenRequests and
// EarlyTokenRequests per profile and Reason for each token request). No log line, error or answer contains a
// client secret or an access token, not even in part.
//
// The rotator's AWS clients use the SDK's standard retryer with 8 attempts, so
// SSM ThrottlingException bursts are absorbed; as with config.WithRetryer,
// AWS_MAX_ATTEMPTS and AWS_RETRY_MODE do not override it. A missing region or
// credentials, an invalid environment or profiles document stop the function
// at start, naming the problem; every invocation then returns that error and
// no token is touched.
package main
