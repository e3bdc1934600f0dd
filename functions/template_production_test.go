package functions_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// ruleValue evaluates a Rules expression (Ref of a parameter, Fn::Equals,
// Fn::Not, Fn::And, Fn::Or, Fn::Contains, literals) as CloudFormation
// does before it creates a change set.
func ruleValue(v any, params map[string]string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}
	if ref, ok := m["Ref"].(string); ok {
		p, ok := params[ref]
		if !ok {
			return nil, fmt.Errorf("Ref %s: not a parameter", ref)
		}
		return p, nil
	}
	args := func(fn string) ([]any, error) {
		list, _ := m[fn].([]any)
		out := make([]any, len(list))
		for i, a := range list {
			v, err := ruleValue(a, params)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	for fn := range m {
		a, err := args(fn)
		if err != nil {
			return nil, err
		}
		switch fn {
		case "Fn::Equals":
			return len(a) == 2 && fmt.Sprint(a[0]) == fmt.Sprint(a[1]), nil
		case "Fn::Not":
			return len(a) == 1 && a[0] == false, nil
		case "Fn::And", "Fn::Or":
			all, any := true, false
			for _, x := range a {
				all, any = all && x == true, any || x == true
			}
			return map[string]bool{"Fn::And": all, "Fn::Or": any}[fn], nil
		case "Fn::Contains":
			list, _ := a[0].([]any)
			for _, x := range list {
				if fmt.Sprint(x) == fmt.Sprint(a[1]) {
					return true, nil
				}
			}
			return false, nil
		}
		return nil, fmt.Errorf("%s: not evaluated here", fn)
	}
	return nil, fmt.Errorf("empty expression")
}

// ruleFailures returns the AssertDescription of every assertion of the
// template's Rules that fails with these parameter values.
func ruleFailures(t *testing.T, tpl map[string]any, params map[string]string) []string {
	t.Helper()
	var failed []string
	for name, r := range getMap(tpl, "Rules") {
		if cond := get(r, "RuleCondition"); cond != nil {
			on, err := ruleValue(cond, params)
			if err != nil {
				t.Fatalf("Rules.%s.RuleCondition: %v", name, err)
			}
			if on != true {
				continue
			}
		}
		asserts, _ := get(r, "Assertions").([]any)
		for _, a := range asserts {
			ok, err := ruleValue(get(a, "Assert"), params)
			if err != nil {
				t.Fatalf("Rules.%s: %v", name, err)
			}
			if ok != true {
				failed = append(failed, fmt.Sprint(get(a, "AssertDescription")))
			}
		}
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
