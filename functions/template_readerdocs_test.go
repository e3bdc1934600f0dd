package functions_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/cfntest"
)

// TestReaderRoleStandaloneExample: docs/cross-account.md's command that
// deploys functions/reader-role.yaml on its own passes every parameter the
// rotator's stack passes its nested reader role (above all KmsKeyId: with
// a customer managed key, a role without it cannot decrypt the records),
// with values the template and its Rules accept.
func TestReaderRoleStandaloneExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/cross-account.md")
	if err != nil {
		t.Fatal(err)
	}
	cmd := regexp.MustCompile(`(?s)sam deploy --template-file functions/reader-role\.yaml(.*?)\n` + "```").FindSubmatch(doc)
	if cmd == nil {
		t.Fatal("docs/cross-account.md has no sam deploy of functions/reader-role.yaml")
	}
	line := strings.ReplaceAll(string(cmd[1]), "\\\n", " ")
	_, overrides, ok := strings.Cut(line, "--parameter-overrides ")
	if !ok {
		t.Fatalf("the example %q sets no --parameter-overrides", line)
	}
	params := map[string]string{}
	for _, kv := range strings.Fields(overrides) {
		k, v, _ := strings.Cut(kv, "=")
		params[k] = strings.Trim(v, `'"`)
	}
	passed := getMap(loadTemplate(t), "Resources", crossAccountID, "Properties", "Parameters")
	for p := range passed {
		if strings.HasPrefix(p, "Reader") {
			continue // who may read and what: the example's own choice
		}
		if _, ok := params[p]; !ok {
			t.Errorf("the example does not set %s, which the rotator's stack passes its reader role: a role deployed so may not match the records", p)
		}
	}
	tpl, err := cfntest.Load(readerRolePath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfntest.Render(tpl, cfntest.Stack{Params: params, Account: "111122223333", Region: "eu-west-1", StackName: "oauth-token-readers-payments"}); err != nil {
		t.Errorf("the example's parameters %v: %v", params, err)
	}
	if failed, err := cfntest.RuleFailures(tpl, cfntest.Stack{Params: params}); err != nil || len(failed) != 0 {
		t.Errorf("the example's parameters %v: Rules say %q, %v", params, failed, err)
	}
}
