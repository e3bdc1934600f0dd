// Package lambdatest runs a built Lambda `bootstrap` binary the way the
// provided.al2023 runtime runs it, on a loopback port, so end-to-end tests
// drive the real function without Docker or `sam local`:
//
//	rt := lambdatest.Start(t, lambdatest.Build(t, "./functions/rotator"), env)
//	res, err := rt.Invoke(ctx, event)
//
// Bootstraps are built one way, the Makefile's: MakeBootstrap runs the
// build-<LogicalId> target that `sam build` runs; Build (for tests, once
// per process) and BuildBinary (for the demo) use it for this host. Start
// (or Launch) serves a fake Lambda Runtime API on 127.0.0.1 and starts the
// binary with the standard Lambda environment (and nothing else from the
// parent but PATH and HOME). The same process serves every invocation, so
// warm starts are observable; its output is captured line by line.
//
// The fake API implements what the aws-lambda-go runtime client uses
// (invocation next, response and error, init error, and the extension
// register and next of lambda.WithEnableSIGTERM). Like Lambda, it enforces
// the invocation timeout (the function is stopped and the result is a
// Sandbox.Timedout error), refuses responses larger than 6 MiB, and stops a
// process that reported an init error. A Runtime is safe for concurrent
// use; invocations are delivered one at a time, in the order queued.
package lambdatest
