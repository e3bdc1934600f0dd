// Package perf measures the figures of docs/performance.md: the consumer's
// hot path against golang.org/x/oauth2, the AWS calls of a rotation, the
// rotator at scale, the spread of refreshes, a fleet of consumers against
// every container fetching its own token, the cold start and size of each
// bootstrap, and the cold start of a consumer in another account (one
// AssumeRole before its first read) against one in the rotator's.
//
// Scale figures run under the quota model (mototest.Proxy.SetQuotas:
// reads at 40 TPS shared, PutParameter at 3 or 10 TPS, answered with
// ThrottlingException as SSM answers); tables measured without it say so.
// make test runs the quick checks: call counts against moto (TestAPICalls)
// and the quota promises at a short size on a faster clock
// (TestFirstFillUnderQuota, TestHerdWithinWriteBudget, TestColdBurstServed).
// The measurements run only with PERF=1:
//
//	make bench
//	PERF=1 go test -count=1 -run TestRotatorScale -v ./internal/testing/perf
//
// Each measurement logs its table, and with PERF_REPORT set to a directory
// writes it there as Markdown, which make bench prints. Figures are
// reported, never asserted; ratios are against an alternative measured in
// the same run. The package has no code of its own, only tests.
package perf
