// # Bootstrap size and the held SDK clients
//
// Two changes keep both arm64 bootstraps under 8 MiB (TestBootstrapSizeBudget
// in make test fails at 8 MiB, so undoing either is a decision, not an
// accident):
//
//  1. The functions build their AWS configuration with internal/awsenv
//     instead of config.LoadDefaultConfig: the same environment variables,
//     read by the SDK's own config.NewEnvConfig, without the shared-config,
//     SSO, STS, sign-in and IMDS credential chain a Lambda never uses.
//  2. service/ssm and service/secretsmanager are held at v1.79.3 and v1.49.0
//     (marked in go.mod), their last releases before schema-based
//     serialization. From v1.80.0 and v1.50.0 on, each client builds its whole
//     service model in package init, used or not: for SSM 1.4 MB of heap in
//     7,857 allocations at every start (GODEBUG=inittrace=1 ./bootstrap).
//
// Measured on 2026-11-22 (arm64 sizes from make build-<LogicalId>; cold
// starts from host builds, 60 interleaved starts each, with
// PERF=1 PERF_COMPARE=<dirs> go test -v -run TestColdStartCompare):
//
//	build                                    rotator  consumer  rotator init  consumer init  rotator RSS
//	LoadDefaultConfig, current SDK clients   10.3 MiB  9.6 MiB   6.3 ms        5.8 ms         12.2 MiB
//	LoadDefaultConfig, held clients           9.2 MiB  8.5 MiB   4.8 ms        4.1 ms         10.0 MiB
//	awsenv, current SDK clients               8.8 MiB  8.3 MiB   6.5 ms        5.3 ms         11.4 MiB
//	awsenv, held clients (shipped)            7.7 MiB  7.1 MiB   4.3 ms        4.1 ms          9.0 MiB
//
// Neither change alone is enough. The held clients are all of the cold-start
// gain; awsenv is the larger size gain but does not change the cold start,
// because package config, still imported for NewEnvConfig, brings the STS and
// SSO packages' init with it. The cost of holding is that SSM and Secrets
// Manager client fixes after those releases do not reach us until we upgrade
// on purpose; the core modules (aws-sdk-go-v2, smithy-go, config) are current.
package perf
