package functions_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

const module = "github.com/m2mtokens/oauth-token-rotator/"

// testOnly are the packages that exist for tests: none may be linked into a
// shipped bootstrap.
var testOnly = []string{
	module + "internal/testing",
	module + "pkg/tokencache/tokencachetest",
	"testing",
	"net/http/httptest",
}

// credentialChain are the packages of the SDK's default credential chain
// and shared configuration, which no function uses: package config alone
// links the SSO, SSO OIDC, STS, sign-in and IMDS clients through their
// package inits, about 320 KiB of each bootstrap (issue 20). awsenv reads
// the environment without them. (A consumer may assume a reader role in
// another account with STS: chainAllowed.)
var credentialChain = []string{
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/signin",
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
}

// chainAllowed are the packages of credentialChain a function may link.
var chainAllowed = map[string][]string{"consumer": {"github.com/aws/aws-sdk-go-v2/service/sts"}}

// testPackages returns the packages of deps that are test helpers: one of
// testOnly or a package under one of them (testing/synctest, …).
func testPackages(deps []string) []string {
	var bad []string
	for _, d := range deps {
		if slices.ContainsFunc(testOnly, func(p string) bool { return d == p || strings.HasPrefix(d, p+"/") }) {
			bad = append(bad, d)
		}
	}
	return bad
}

func TestTestPackagesFindsHelpers(t *testing.T) {
	tests := []struct {
		name string
		deps []string
		want []string
	}{
		{"none", []string{"fmt", module + "internal/rotate", module + "pkg/tokencache", module + "internal/testingx"}, nil},
		{"helpers", []string{"fmt", module + "internal/testing/leakcheck", module + "pkg/tokencache/tokencachetest", "testing"}, []string{module + "internal/testing/leakcheck", module + "pkg/tokencache/tokencachetest", "testing"}},
		{"below testing", []string{"testing/synctest", "net/http/httptest"}, []string{"testing/synctest", "net/http/httptest"}},
	}
	for _, tt := range tests {
		if got := testPackages(tt.deps); !slices.Equal(got, tt.want) {
			t.Errorf("%s: testPackages(%q) = %q; want %q", tt.name, tt.deps, got, tt.want)
		}
	}
}

// TestBootstrapsLinkNoTestHelper lists what each shipped bootstrap links,
// built as the Makefile builds it (linux/arm64, -tags lambda.norpc), and
// fails if a test helper package or the testing package is among them, or
// a package of the SDK's credential chain (credentialChain).
func TestBootstrapsLinkNoTestHelper(t *testing.T) {
	for _, fn := range []string{"rotator", "consumer"} {
		t.Run(fn, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", "list", "-tags", "lambda.norpc", "-deps", "./"+fn)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOFLAGS=")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps ./%s: %v\n%s", fn, err, stderr.String())
			}
			deps := strings.Fields(string(out))
			// The list is the real one: it holds the function and what it must link.
			for _, want := range []string{module + "functions/" + fn, module + "pkg/tokenrecord"} {
				if !slices.Contains(deps, want) {
					t.Fatalf("go list -deps ./%s lacks %s; got %q", fn, want, deps)
				}
			}
			if bad := testPackages(deps); len(bad) > 0 {
				t.Errorf("the %s bootstrap links test packages %q; move what it needs out of them", fn, bad)
			}
			for _, p := range credentialChain {
				if slices.Contains(deps, p) && !slices.Contains(chainAllowed[fn], p) {
					t.Errorf("the %s bootstrap links %s, the SDK's credential chain (hundreds of KiB of package inits it never runs): "+
						"build the AWS configuration with internal/awsenv, which reads the environment alone", fn, p)
				}
			}
		})
	}
}
