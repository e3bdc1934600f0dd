// Package tokencache serves the OAuth2 access tokens that the rotator keeps
// in SSM Parameter Store (one record per profile, see package tokenrecord),
// from an in-memory cache that lives as long as the process: across the
// warm invocations of a Lambda function, or for the life of an ECS task. A
// consumer never asks a token endpoint for a token, so each partner sees
// one token request per token lifetime however many consumers there are.
//
// Build one Cache per process, outside the Lambda handler, and take the
// Source of each profile you call:
//
//	cache := tokencache.New(ssm.NewFromConfig(cfg), tokencache.Config{})
//	client := cache.Source("aviv-caas-agency-42").Client("leads-export/1.0")
//
// A Source gives its token the way the calling code wants it: Client, an
// *http.Client that sends it and re-reads it after a 401; Transport, the
// same around a tuned base transport; TokenSource, for x/oauth2; or Token,
// the bare string. What is served, and when the record is read again, is
// on Source; the defaults are on Config. Examples: a Lambda handler
// (Example_lambda), an ECS task (Example_ecs), an x/oauth2 client
// (ExampleSource_TokenSource); for a consumer's unit tests, see package
// tokencachetest.
//
// From another account, read with the rotator stack's reader role, in its
// region, and set Config.RoleARN (Example_otherAccount); no STS is linked.
//
// A Cache, its Sources, their TokenSources and Transports are safe for
// concurrent use; the package starts no goroutine that outlives a read. No
// access token ever appears in a log line, an error, or the String,
// GoString or LogValue of a value of this package.
package tokencache
