// Package functions holds the Lambda functions that template.yaml deploys,
// one directory per function, each a main package that only wires things
// together (build the AWS clients once, build a handler, lambda.Start):
//
//	functions/rotator/           RotatorFunction: on an EventBridge schedule (or a
//	                             {"force": true} event) refreshes the due tokens and
//	                             writes them to SSM Parameter Store
//	functions/rotator/profiles/  the profiles documents, <environment>.yaml, which the
//	                             build copies beside the rotator's bootstrap
//	functions/consumer/          ConsumerFunction: an example consumer that calls a
//	                             partner API with the stored token
//
// Each function is built by the root Makefile target build-<LogicalId>
// (template.yaml sets BuildMethod: makefile), which `sam build` calls with
// ARTIFACTS_DIR set: a static linux/arm64 binary named bootstrap for the
// provided.al2023 runtime, built with -tags lambda.norpc.
//
// This package itself has no code. Its tests parse template.yaml and the
// Makefile and check the deployment rules that cfn-lint cannot: least-privilege
// IAM scoping (no data-plane action on Resource "*", the rotator reads only
// secrets under SecretsPrefix and writes only parameters under
// TokenParameterPrefix, readers never write, KMS access only when a customer
// managed key is configured), the Globals, the rotator's concurrency and
// timeout, the build method and the alarms' metric contract. TestBootstrapSizeBudget
// builds both bootstraps as shipped and keeps each under 8 MiB.
package functions
