// Package tokencache serves OAuth2 access tokens that the rotator stores in
// SSM Parameter Store, from an in-memory cache that lives as long as the
// process: across the warm invocations of a Lambda function, or for the whole
// life of an ECS task. A consumer never asks a token endpoint for a token; it
// reads the rotator's record (see package tokenrecord) through this cache.
//
// # Use
//
// Build one Cache per process, outside the Lambda handler, from anything with
// the SSM GetParameter signature (an *ssm.Client built with
// config.LoadDefaultConfig, or in a Lambda with awsenv.Load for a smaller
// binary):
//
//	cache := tokencache.New(ssm.NewFromConfig(cfg), tokencache.Config{})
//	token, err := cache.Token(ctx, "aviv-caas-agency-42") // reads /oauth-tokens/aviv-caas-agency-42
//
// or let an http.Client add the token and a User-Agent to every request:
//
//	client := cache.Profile("aviv-caas-agency-42").Client("")
//	resp, err := client.Do(req)
//
// A profile whose record is stored under another name (the profile's
// "parameter" field) is read with Cache.Parameter.
//
// # What is served
//
//   - A token is served from memory while now + Config.Skew (default 60 s)
//     is before the record's expires_at, and for at most Config.MaxAge
//     (default 5 min) after the record was read; then the parameter is read
//     again, so a long-running process follows the record as it rotates.
//     A hit takes no lock and allocates nothing.
//   - Concurrent callers that find no usable token share one GetParameter
//     call (WithDecryption true). A caller whose context ends returns at once
//     with the context's error; the shared read goes on, bounded by its own
//     timeout, and its result serves the next caller.
//   - When a read fails while the cached token is still valid, the cached
//     token is served (counted in Stats.StaleServed) and a warning is logged
//     once. An expired token is never served: the error, an *Error, names the
//     profile and the parameter and matches ErrNotFound (no record),
//     ErrUnreadable (the record is not valid JSON or breaks the contract),
//     ErrExpired (the rotator has not replaced an expired record) or
//     ErrReadFailed (SSM could not be read) with errors.Is.
//   - After a failed read, and after an invalidation, a parameter is read at
//     most once per Config.MinReadInterval (default 5 s), so a rotator
//     outage or a partner API that rejects every request cannot turn every
//     call into an SSM read.
//   - Source.Invalidate drops a token a partner API rejected, only if the
//     cache still holds that very token, so a burst of 401 answers causes one
//     read, not one per answer. Transport does this on every 401 and retries
//     a replayable request once with the new token.
//
// No access token ever appears in a log line or an error of this package.
//
// # Concurrency
//
// A Cache, its Sources and a Transport are safe for concurrent use by many
// goroutines. The package starts no goroutine that outlives a read: a
// shared read ends within its timeout, which suits a Lambda function that
// is frozen between invocations.
package tokencache
