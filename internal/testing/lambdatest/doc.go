// Package lambdatest runs a built Lambda `bootstrap` binary the way the
// provided.al2023 runtime runs it, on a loopback port, so end-to-end tests
// drive the real function without Docker or `sam local`.
//
// Bootstraps are built one way, the Makefile's: MakeBootstrap runs the
// build-<LogicalId> target that `sam build` runs, for linux/arm64 or this
// host; Build (for tests, once per process) and BuildBinary (for the demo)
// build a function for this host with it. Start (or Launch) serves a fake Lambda Runtime API on 127.0.0.1,
// starts the binary with AWS_LAMBDA_RUNTIME_API pointing at it and the
// standard Lambda environment (and nothing else from the parent but PATH and
// HOME), and returns a Runtime. Runtime.Invoke queues one event, waits for the
// function's answer and returns it; the same process serves every invocation,
// so warm-start behaviour is observable. The function's stdout and stderr are
// captured line by line for log assertions.
//
// The fake API implements what the aws-lambda-go runtime client uses:
//
//	GET  /2018-06-01/runtime/invocation/next
//	POST /2018-06-01/runtime/invocation/{id}/response
//	POST /2018-06-01/runtime/invocation/{id}/error
//	POST /2018-06-01/runtime/init/error
//	POST /2020-01-01/extension/register   (lambda.WithEnableSIGTERM)
//	GET  /2020-01-01/extension/event/next (blocks until Close)
//
// Like Lambda, it enforces the invocation timeout (the function is stopped
// and the result is a Sandbox.Timedout error), refuses responses larger than
// 6 MiB, and stops a process that reported an init error.
//
// An end-to-end test:
//
//	func TestRotatorRefreshesDueTokens(t *testing.T) {
//		moto := mototest.Start(t)
//		rt := lambdatest.Start(t, lambdatest.Build(t, "./functions/rotator"),
//			[]string{"AWS_ENDPOINT_URL=" + moto.URL, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test"},
//			lambdatest.WithTimeout(60*time.Second))
//		res, err := rt.Invoke(t.Context(), scheduledEvent)
//		if err != nil || res.Err != nil {
//			t.Fatalf("Invoke = %v, %v", res.Err, err) // err says how the process ended
//		}
//		rt.Close() // all output is in after Close
//		for _, line := range rt.Logs() { /* check JSON lines, scan for secrets */ }
//	}
//
// A Runtime is safe for concurrent use by several goroutines; invocations are
// delivered one at a time, in the order they are queued.
package lambdatest
