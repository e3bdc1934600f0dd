// Command rotator is the rotator Lambda function: on each EventBridge
// schedule it refreshes the OAuth tokens that are due (package rotate) and
// stores them in SSM Parameter Store; {"force": true, "profiles": [...]}
// refreshes on demand, {"status": true} reports every profile, and a Secrets
// Manager change event refreshes the profiles of the changed secret.
//
// main only wires: the environment (config, read by loadConfig; go doc
// -cmd -u . config), the AWS clients (package awsenv, with newRetryer), the
// handler and lambda.Start. A bad environment or profiles document is found
// at start and named, and every invocation then returns that error without
// touching a token; without a region or credentials the init fails. Its
// events, answer, logs and metrics, and what to do when it fails:
// docs/operating.md; sample events: events/.
package main
