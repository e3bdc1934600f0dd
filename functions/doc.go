// Package functions holds the Lambda functions that template.yaml deploys,
// one main package per directory (rotator, consumer), each only wiring
// things together: build the AWS clients once, build a handler,
// lambda.Start. The root Makefile's build-<LogicalId> targets build them
// (template.yaml sets BuildMethod: makefile) as static linux/arm64
// bootstraps with -tags lambda.norpc.
//
// This package itself has no code. Its tests check template.yaml and the
// Makefile for what cfn-lint cannot: least-privilege IAM, KMS access only
// with a customer managed key, the Globals, the rotator's concurrency and
// timeout, the build method, the alarms' metric contract, and both
// bootstraps under 8 MiB (TestBootstrapSizeBudget).
package functions
