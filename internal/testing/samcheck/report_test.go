package samcheck

import (
	"fmt"
	"os"
	"strings"
)

// report collects what the check proved and what it could not.
type report struct {
	proven    []string
	notProven []string
	keys      map[string]bool
	failed    []string
}

func (r *report) prove(format string, args ...any) {
	r.proven = append(r.proven, fmt.Sprintf(format, args...))
}

// notProve records, once per key, something the check could not prove.
func (r *report) notProve(key, format string, args ...any) {
	if r.keys == nil {
		r.keys = map[string]bool{}
	}
	if r.keys[key] {
		return
	}
	r.keys[key] = true
	r.notProven = append(r.notProven, fmt.Sprintf(format, args...))
}

func (r *report) has(key string) bool { return r.keys[key] }

func (r *report) fail(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

// notProvenAlways are the limits of any run without Docker and an account.
var notProvenAlways = []string{
	"confirm_changeset = true ([production.deploy.parameters]): the prompt is not exercised; the check passes --no-confirm-changeset (no terminal in CI)",
	"sam local invoke: needs Docker (the provided.al2023 arm64 image); its README commands were only checked to exist with their flags. " +
		"make test runs the same bootstraps through the Lambda Runtime API (internal/lambdatest) instead",
	"anything of a real account: credentials, the Lambda concurrency quota that ReservedConcurrentExecutions needs, KMS key policies, IAM evaluation, EventBridge firing the schedules",
}

func (r *report) print(s *session) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n======== make sam-check: SAM CLI %s, with no AWS account ========\n", s.version)
	fmt.Fprintf(&b, "PROVEN (%d):\n", len(r.proven))
	for _, p := range r.proven {
		fmt.Fprintf(&b, "  + %s\n", p)
	}
	fmt.Fprintf(&b, "NOT PROVEN here (%d):\n", len(r.notProven)+len(notProvenAlways))
	for _, p := range append(r.notProven, notProvenAlways...) {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	if len(r.failed) > 0 {
		fmt.Fprintf(&b, "FAILED (%d):\n", len(r.failed))
		for _, p := range r.failed {
			fmt.Fprintf(&b, "  ! %s\n", p)
		}
	}
	fmt.Fprint(os.Stdout, b.String())
}
