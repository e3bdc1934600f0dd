package functions_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/cfntest"
)

// ruleFailures returns the AssertDescription of every assertion of the
// template's Rules that fails with these parameter values.
func ruleFailures(t *testing.T, tpl map[string]any, params map[string]string) []string {
	t.Helper()
	failed, err := cfntest.RuleFailures(tpl, cfntest.Stack{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return failed
}

// TestProductionNeedsAlarmTopic: with the parameters each samconfig.toml
// environment deploys, the template's Rules refuse production without
// AlarmTopicArn, saying where to set it, and accept it with one; sandbox
// deploys without.
func TestProductionNeedsAlarmTopic(t *testing.T) {
	tpl := loadTemplate(t)
	var cfg map[string]map[string]map[string]map[string]any
	if _, err := toml.DecodeFile(samconfigPath, &cfg); err != nil {
		t.Fatal(err)
	}
	paramsFor := func(env string) map[string]string {
		params := map[string]string{}
		for name, p := range getMap(tpl, "Parameters") {
			if d := get(p, "Default"); d != nil {
				params[name] = fmt.Sprint(d)
			}
		}
		overrides, err := parseOverrides(fmt.Sprint(cfg[env]["deploy"]["parameters"]["parameter_overrides"]))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range overrides {
			params[k] = v
		}
		return params
	}
	for _, env := range []string{"default", "sandbox"} {
		if failed := ruleFailures(t, tpl, paramsFor(env)); len(failed) != 0 {
			t.Errorf("samconfig %s: the template's Rules refuse it: %v", env, failed)
		}
	}
	prod := paramsFor("production")
	if prod["AlarmTopicArn"] != "" {
		t.Skip("samconfig.toml's production sets AlarmTopicArn; nothing to refuse")
	}
	failed := ruleFailures(t, tpl, prod)
	if len(failed) != 1 || !strings.Contains(failed[0], "AlarmTopicArn") || !strings.Contains(failed[0], "[production.deploy.parameters]") {
		t.Errorf("samconfig production without AlarmTopicArn: Rules say %q; want one refusal naming AlarmTopicArn and where to set it", failed)
	}
	prod["AlarmTopicArn"] = "arn:aws:sns:eu-west-1:123456789012:pager"
	if failed := ruleFailures(t, tpl, prod); len(failed) != 0 {
		t.Errorf("production with AlarmTopicArn: Rules refuse it: %v", failed)
	}
	if cond := get(tpl, "Rules", "ProductionNeedsAlarmTopic", "RuleCondition"); !reflect.DeepEqual(cond, get(tpl, "Conditions", "IsProduction")) {
		t.Errorf("Rules.ProductionNeedsAlarmTopic.RuleCondition = %v; want the same test as Conditions.IsProduction", cond)
	}
}
