// Package tokencache serves OAuth2 access tokens that the rotator stores in
// SSM Parameter Store, from an in-memory cache that lives as long as the
// process: across the warm invocations of a Lambda function, or for the whole
// life of an ECS task. A consumer never asks a token endpoint for a token; it
// reads the rotator's record through this cache, so that each partner sees
// one token request per token lifetime however many consumers there are.
//
// The public API of this module is this package, package tokenrecord (the
// stored record and the parameter names) and package
// tokencache/tokencachetest (an in-memory store for consumers' tests).
//
// # The record
//
// The rotator keeps one SecureString parameter per profile, named
// <prefix>/<profile> (prefix "/oauth-tokens" unless the deployment's
// TOKEN_PARAMETER_PREFIX says otherwise), holding JSON:
//
//	{"access_token":"…","token_type":"Bearer","expires_at":"2026-11-23T10:00:00Z",
//	 "issued_at":"2026-11-22T10:00:00Z","profile":"aviv-caas-agency-42"}
//
// It replaces the record some time (refresh_before, 15 min by default) before
// expires_at, and whenever a forced run asks it to. See package tokenrecord
// for the contract; any language can read the record the same way.
//
// # Use
//
// Build one Cache per process, outside the Lambda handler, from anything with
// the SSM GetParameter signature (an *ssm.Client built with
// config.LoadDefaultConfig, which honours AWS_ENDPOINT_URL):
//
//	cache := tokencache.New(ssm.NewFromConfig(cfg), tokencache.Config{})
//	token, err := cache.Source("aviv-caas-agency-42").Token(ctx) // reads /oauth-tokens/aviv-caas-agency-42
//
// Then pick the form the calling code wants. Source.Client (or Source.Transport
// around a tuned base transport) is an *http.Client that adds
// "Authorization: Bearer …" and a User-Agent to every request, and after a
// 401 re-reads the record once and retries a replayable request once with
// the new token:
//
//	client := cache.Source("aviv-caas-agency-42").Client("leads-export/1.0")
//	resp, err := client.Do(req)
//
// Source.TokenSource is an oauth2.TokenSource for x/oauth2 and every SDK
// that takes one (or an *http.Client from oauth2.NewClient). Its tokens
// carry the real expiry, the earlier of expires_at minus Config.Skew and
// the cache's next read, so x/oauth2 follows the record as the rotator
// replaces it, without a restart. (Wrapping Token in
// oauth2.StaticTokenSource, or any token with a zero Expiry, freezes the
// first token: x/oauth2 treats a zero expiry as "never expires".)
//
//	client := oauth2.NewClient(ctx, cache.Source("pliant-production").TokenSource(ctx))
//
// Source.Token returns the token itself, for code that sets
// its own headers; call Source.Invalidate when the partner rejects it.
//
// A profile whose record is stored under another name (the profile's
// "parameter" field) is read with Cache.SourceByParameter.
//
// The process needs ssm:GetParameter on the parameter and, when the
// parameters are encrypted with a customer managed key, kms:Decrypt on that
// key; the stack's TokenReaderPolicyArn output is a managed policy that
// grants both for every record (attach it to the Lambda or ECS task role).
//
// # Consumers in other accounts
//
// One rotator serves the whole organization: a consumer in another
// account reads the rotator account's records through the reader role that
// the rotator's stack creates for the accounts it names (its
// CrossAccountReaderRoleArn output; docs/cross-account.md). Build the SSM
// client with that role's credentials, from stscreds.NewAssumeRoleProvider
// in an aws.CredentialsCache, in the rotator's region, and set
// Config.RoleARN so that errors name the role and say what to change when
// it cannot be assumed or may not read a record. Example_otherAccount
// shows the whole of it. This package does not link STS itself: only the
// programs that read from another account pay for it.
//
// # Configuration
//
// Config's zero value is ready to use. Its fields, and their defaults:
//
//	Prefix           "/oauth-tokens"   the rotator's TOKEN_PARAMETER_PREFIX
//	Skew             60 s              a token is served while now + Skew is before expires_at
//	MaxAge           5 min             a record is read again when it is older
//	MinReadInterval  5 s               least time between reads after a failure or a 401
//	ReadTimeout      10 s              bound of one shared GetParameter call
//	Logger           slog.Default()    a warning when a stale token is served
//	Now              time.Now          the clock (tests inject one)
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
//     read, not one per answer. Source.Transport does this on every 401 and retries
//     a replayable request once with the new token.
//
// No access token ever appears in a log line, an error or the String,
// GoString or LogValue of a value of this package. Cache.Stats counts hits,
// misses, reads, failed reads and stale tokens served, for metrics.
//
// # Testing code that uses the cache
//
// Keep the real Cache and replace only Parameter Store with a
// tokencachetest.Store, which serves valid, expiring, missing and unreadable
// records from memory, replaces them to simulate a rotation, fails reads on
// demand and counts them:
//
//	var store tokencachetest.Store
//	store.SetToken("partner-api", "token-1", time.Now(), time.Hour)
//	cache := tokencache.New(&store, tokencache.Config{})
//
// # Concurrency
//
// A Cache, its Sources, their TokenSources and Transports are safe for
// concurrent use by many goroutines. The package starts no goroutine that
// outlives a read: a shared read ends within its timeout, which suits a
// Lambda function that is frozen between invocations.
package tokencache
