package functions_test

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/cfntest"
)

// Every template's Rules, evaluated as CloudFormation evaluates them
// before a change set (cfntest.RuleFailures). cfn-lint does not evaluate
// rules and moto's CloudFormation ignores them, so these tests are the
// only check that a rule refuses what it should and accepts the rest.

// templates are every template of the repository, by path from functions/.
var templates = []string{templatePath, readerRolePath, consumerTplPath}

// ruleFunctionsDoc is AWS's list of what a rule may use: "Rule functions",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-rules.html
// (Fn::And, Fn::Contains, Fn::EachMemberEquals, Fn::EachMemberIn,
// Fn::Equals, Fn::Not, Fn::Or, Fn::RefAll, Fn::ValueOf, Fn::ValueOfAll),
// whose "Supported functions" section says: "you can use the following
// functions within all other rule-specific intrinsic functions: Ref, Other
// rule-specific intrinsic functions". Fn::Join, Fn::Sub, Fn::If and the
// rest are not among them, whatever cfn-lint lets through.
var ruleFunctionsDoc = []string{"Ref", "Fn::And", "Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn",
	"Fn::Equals", "Fn::Not", "Fn::Or", "Fn::RefAll", "Fn::ValueOf", "Fn::ValueOfAll"}

// TestRulesUseOnlyRuleFunctions: no rule of any template uses a function
// outside AWS's list, nor a Ref to anything but a parameter.
func TestRulesUseOnlyRuleFunctions(t *testing.T) {
	if !reflect.DeepEqual(cfntest.RuleFunctions, ruleFunctionsDoc) {
		t.Errorf("cfntest.RuleFunctions = %v; want AWS's list %v", cfntest.RuleFunctions, ruleFunctionsDoc)
	}
	for _, path := range templates {
		tpl, err := cfntest.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		var walk func(where string, v any)
		walk = func(where string, v any) {
			switch x := v.(type) {
			case []any:
				for i, it := range x {
					walk(fmt.Sprintf("%s[%d]", where, i), it)
				}
			case map[string]any:
				for k, it := range x {
					switch {
					case k == "Ref":
						if getMap(tpl, "Parameters", fmt.Sprint(it)) == nil {
							t.Errorf("%s: %s refers to %v, not a parameter", path, where, it)
						}
					case !slices.Contains(ruleFunctionsDoc, k):
						t.Errorf("%s: %s uses %s, which CloudFormation does not allow in Rules (only %v)", path, where, k, ruleFunctionsDoc)
					}
					walk(where+"."+k, it)
				}
			}
		}
		for name, rule := range getMap(tpl, "Rules") {
			if c, ok := getMap(rule)["RuleCondition"]; ok {
				walk("Rules."+name+".RuleCondition", c)
			}
			asserts, _ := get(rule, "Assertions").([]any)
			for i, a := range asserts {
				walk(fmt.Sprintf("Rules.%s.Assertions[%d].Assert", name, i), get(a, "Assert"))
			}
		}
	}
}

// ruleCase is a deployment and what the template's Rules must say of it:
// refused with these AssertDescriptions (substrings), or accepted.
type ruleCase struct {
	name   string
	params map[string]string
	refuse []string
}

const workloadRole = "arn:aws:iam::123456789012:role/oauth-token-readers"

// ruleCases are, per template, deployments every rule is tried on.
var ruleCases = map[string][]ruleCase{
	templatePath: {
		{"defaults", nil, nil},
		{"one account", map[string]string{"CrossAccountReaderAccounts": "111111111111"}, nil},
		{"two accounts", map[string]string{"CrossAccountReaderAccounts": "111111111111,222222222222"}, nil},
		{"an organization", map[string]string{"CrossAccountReaderOrgId": "o-a1b2c3d4e5"}, nil},
		{"an OU path", map[string]string{"CrossAccountReaderOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}, nil},
		{"an account with a trailing comma", map[string]string{"CrossAccountReaderAccounts": "111111111111,"}, []string{"CrossAccountReaderAccounts has an empty item"}},
		{"two commas", map[string]string{"CrossAccountReaderAccounts": "111111111111,,222222222222"}, []string{"CrossAccountReaderAccounts has an empty item"}},
		{"an OU path with a leading comma", map[string]string{"CrossAccountReaderOrgPaths": ",o-a1b2c3d4e5/r-ab12/*"}, []string{"CrossAccountReaderOrgPaths has an empty item"}},
		{"production without a topic", map[string]string{"EnvironmentName": "production"}, []string{"EnvironmentName=production needs AlarmTopicArn"}},
		{"production with a topic", map[string]string{"EnvironmentName": "production", "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:pager"}, nil},
	},
	readerRolePath: {
		{"no readers", nil, []string{"Set ReaderAccounts, ReaderOrgId or ReaderOrgPaths"}},
		{"one account", map[string]string{"ReaderAccounts": "111111111111"}, nil},
		{"an organization", map[string]string{"ReaderOrgId": "o-a1b2c3d4e5"}, nil},
		{"an OU path", map[string]string{"ReaderOrgPaths": "o-a1b2c3d4e5/r-ab12/*"}, nil},
		{"all three", map[string]string{"ReaderAccounts": "111111111111,222222222222", "ReaderOrgId": "o-a1b2c3d4e5", "ReaderOrgPaths": "o-a1b2c3d4e5/r-ab12/*"}, nil},
		{"an account with a trailing comma", map[string]string{"ReaderAccounts": "111111111111,"}, []string{"ReaderAccounts has an empty item"}},
		{"an OU path with a trailing comma", map[string]string{"ReaderOrgId": "o-a1b2c3d4e5", "ReaderOrgPaths": "o-a1b2c3d4e5/r-ab12/*,"}, []string{"ReaderOrgPaths has an empty item"}},
		{"only commas: no reader", map[string]string{"ReaderAccounts": ","}, []string{"Set ReaderAccounts, ReaderOrgId or ReaderOrgPaths"}},
	},
	consumerTplPath: {
		{"a reader role", map[string]string{"TokenReaderRoleArn": workloadRole}, nil},
	},
}

// TestTemplateRulesSections evaluates every template's Rules on ruleCases: each
// case refused with exactly the descriptions it names, or accepted; and
// every assertion of every rule refuses at least one case and accepts
// another, so that no rule goes untried.
func TestTemplateRulesSections(t *testing.T) {
	for _, path := range templates {
		tpl, err := cfntest.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		cases, ok := ruleCases[path]
		if !ok || len(cases) == 0 {
			t.Fatalf("%s: no rule cases", path)
		}
		refused := map[string]bool{}
		for _, c := range cases {
			failed, err := cfntest.RuleFailures(tpl, cfntest.Stack{Params: c.params})
			if err != nil {
				t.Errorf("%s, %s: %v", path, c.name, err)
				continue
			}
			for _, f := range failed {
				refused[f] = true
			}
			if !matchAll(failed, c.refuse) {
				t.Errorf("%s, %s (%v): Rules refuse with %q; want %q", path, c.name, c.params, failed, c.refuse)
			}
		}
		var descs []string
		for name, rule := range getMap(tpl, "Rules") {
			asserts, _ := get(rule, "Assertions").([]any)
			for _, a := range asserts {
				d := fmt.Sprint(get(a, "AssertDescription"))
				descs = append(descs, d)
				if !refused[d] {
					t.Errorf("%s: no case makes Rules.%s refuse %q", path, name, d)
				}
			}
		}
		sort.Strings(descs)
		if len(descs) != len(slices.Compact(slices.Clone(descs))) {
			t.Errorf("%s: two assertions share a description: %q", path, descs)
		}
	}
}

// matchAll reports whether got holds exactly one description per want
// (a substring of it), and nothing else.
func matchAll(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(g, w) }) {
			return false
		}
	}
	return true
}
