// Package perf measures the project's performance figures: the consumer's
// hot path against golang.org/x/oauth2, the AWS calls of a rotation, the
// rotator at scale, the spread of refreshes over time, a fleet of consumers
// against every container fetching its own token, the cold start and size
// of each bootstrap, and the cold start of a consumer in another account
// (one AssumeRole before its first read) against one in the rotator's.
//
// Scale figures run under the quota model (mototest.Proxy.SetQuotas:
// Parameter Store's reads at 40 TPS shared, PutParameter at 3 or 10 TPS,
// answered with ThrottlingException as SSM answers): the first fill of N
// profiles by the built rotator bootstrap, the steady writes per run of a
// fleet against the PutParameter budget, and cold consumers bursting
// against the read quota. Tables measured without it say so in their
// title. make test runs the quota promises at a size that keeps it short:
// first fills of 400 profiles at 3 TPS and 1,000 at 10 TPS on a clock 10
// times faster (TestFirstFillUnderQuota), 100-profile herds at 0.3 TPS
// (TestHerdWithinWriteBudget) and 300 cold consumers at 40 TPS
// (TestColdBurstServed).
//
// The package has no code of its own, only tests. The quick ones, which
// assert call counts against moto (ceil(N/10) GetParameters and no secret
// read for a run with nothing due, one read per distinct secret and k
// writes for k due profiles), run in `make test` for N = 10 and 100. The
// measurements run only with PERF=1, as `make bench` sets:
//
//	make bench
//	# or one of them:
//	cd internal/perf && PERF=1 go test -count=1 -run TestRotatorScale -v
//
// Each measurement logs its table; with PERF_REPORT set to a directory it
// also writes the table there as a Markdown section, which `make bench`
// prints at the end. Figures are reported, never asserted: ratios are
// against the alternative measured in the same run.
package perf
