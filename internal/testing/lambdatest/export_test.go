package lambdatest

import (
	"context"
	"testing"
)

// What the package's own tests use but no caller does: exported for the
// tests only.

var ErrClosed = errClosed

const (
	TimeoutErrorType    = timeoutErrorType
	MaxResponseSize     = maxResponseSize
	DefaultFunctionName = defaultFunctionName
	DefaultTimeout      = defaultTimeout
	DefaultMemoryMB     = defaultMemoryMB
	DefaultRegion       = defaultRegion
	AccountID           = accountID
)

// echoPkg is the fixture function, relative to the module root.
const echoPkg = "./internal/testing/lambdatest/testdata/echo"

// BuildEcho builds the fixture function once per test process. No Makefile
// target builds it, so it is compiled with the targets' flags directly.
func BuildEcho(tb testing.TB) string { return buildOnce(tb, echoPkg, goBuild) }

// GoBuildEcho builds the fixture into out.
func GoBuildEcho(ctx context.Context, out string) error { return goBuild(ctx, echoPkg, out) }
