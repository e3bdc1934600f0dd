package cfntest

import (
	"reflect"
	"strings"
	"testing"
)

const rulesSample = `
Parameters:
  Env: {Type: String, Default: dev}
  Topic: {Type: String, Default: ""}
  Accounts: {Type: CommaDelimitedList, Default: ""}
Rules:
  ProdNeedsTopic:
    RuleCondition: !Equals [!Ref Env, prod]
    Assertions:
      - Assert: !Not [!Equals [!Ref Topic, ""]]
        AssertDescription: topic
  Lists:
    Assertions:
      - Assert: !Or [{"Fn::EachMemberEquals": [!Ref Accounts, ""]}, !Not [{"Fn::Contains": [!Ref Accounts, ""]}]]
        AssertDescription: empty item
      - Assert: {"Fn::EachMemberIn": [!Ref Accounts, ["", "1", "2"]]}
        AssertDescription: known
      - Assert: !And [!Equals [a, a], !Not [!Equals [a, b]]]
        AssertDescription: literals
`

// TestRuleFailures evaluates each rule function both ways.
func TestRuleFailures(t *testing.T) {
	tpl, err := Parse([]byte(rulesSample))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		params map[string]string
		want   []string
	}{
		{nil, nil},
		{map[string]string{"Env": "prod"}, []string{"topic"}},
		{map[string]string{"Env": "prod", "Topic": "t"}, nil},
		{map[string]string{"Accounts": "1,2"}, nil},
		{map[string]string{"Accounts": "1,"}, []string{"empty item"}},
		{map[string]string{"Accounts": ","}, nil},
		{map[string]string{"Accounts": "1,3"}, []string{"known"}},
		{map[string]string{"Accounts": ",3", "Env": "prod"}, []string{"empty item", "known", "topic"}},
	} {
		got, err := RuleFailures(tpl, Stack{Params: c.params})
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("RuleFailures(%v) = %q, %v; want %q", c.params, got, err, c.want)
		}
	}
}

// TestRuleFailuresRefuses: what CloudFormation does not allow in Rules,
// or cannot be decided without AWS, is an error, not a pass.
func TestRuleFailuresRefuses(t *testing.T) {
	for expr, want := range map[string]string{
		`!Not [!Equals [!Join ["", !Ref Accounts], ""]]`:                     "Fn::Join is not a rule function",
		`!Equals [!Sub "${Env}", dev]`:                                       "Fn::Sub is not a rule function",
		`!Equals [!Ref Accounts, ""]`:                                        "compare two strings",
		`!Equals [!Ref AWS::Region, eu-west-1]`:                              "not a parameter",
		`{"Fn::EachMemberEquals": [{"Fn::RefAll": "AWS::EC2::VPC::Id"}, x]}`: "reads the account's resources",
		`!Or [!Equals [a, a]]`:                                               "2 to 10 conditions",
	} {
		tpl, err := Parse([]byte(rulesSample + "  Bad:\n    Assertions:\n      - Assert: " + expr + "\n        AssertDescription: bad\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := RuleFailures(tpl, Stack{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("RuleFailures(%s) = %v; want an error with %q", expr, err, want)
		}
	}
}
