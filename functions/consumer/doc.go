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
//
// A consumer in another account than the rotator's (functions/consumer.yaml) sets
// TOKEN_READER_ROLE_ARN, the rotator stack's CrossAccountReaderRoleArn
// output: the records are read with that role's credentials, assumed with
// the execution role's (which needs sts:AssumeRole on it and no SSM
// permission) and replaced before they expire; and TOKEN_REGION, the
// rotator's region, when it is not AWS_REGION (docs/cross-account.md).
package main
