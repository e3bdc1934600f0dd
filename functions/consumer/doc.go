// Command consumer is the example consumer Lambda function: it calls a
// partner API with the token the rotator keeps in SSM Parameter Store, read
// through the in-memory cache of package tokencache; it never asks a token
// endpoint for a token.
//
// Its environment is described on config (go doc -cmd -u . config); the
// AWS configuration comes from the environment alone (package awsenv). The
// event {"method": "GET", "path": "/…", "body": "…"} is answered with
// {"status": 200, "body": "…"} (events/consumer.json), and each invocation
// writes one CloudWatch Embedded Metric Format line with the cache's
// counters.
package main
