// Package demo runs the whole system on one machine, with no AWS account and
// no Docker: moto_server stands in for Secrets Manager and SSM, package
// oauthtest for the token endpoints (the four partners, plus Cognito with
// client_secret_basic, Okta with private_key_jwt and Salesforce, whose
// answers lack expires_in) and a partner API, and the real rotator and
// consumer bootstrap binaries run under the Lambda Runtime API of package
// lambdatest.
//
// Run prints a short report as it goes and returns the figures, so the same
// flow is both `make demo` and an end-to-end test. Every process it starts
// is stopped when it returns, including when ctx is cancelled (Ctrl-C).
package demo
