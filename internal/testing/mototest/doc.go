// Package mototest starts and stops moto_server, a real AWS emulator, on a
// free loopback port, and seeds it with secrets and parameters. Every
// integration test, end-to-end test, benchmark and the local demo use it, so
// there is exactly one place that knows how to run moto.
//
// Its Proxy sits in front of moto to count calls, inject faults, model
// Parameter Store's quotas and enforce chosen IAM roles' trust and
// permission policies as AWS evaluates them (EnforceRole), which moto does
// not: the cross-account tests (package orgtest) rely on that.
//
// Where moto_server is not on the PATH, Start skips the test with the install
// command, except under CI (CI=true), where it fails the test instead: a
// missing emulator must never turn a CI run green by skipping.
//
// A Server is safe for concurrent use by several goroutines.
package mototest
