package cfntest

import (
	"fmt"
	"slices"
	"sort"
)

// RuleFailures evaluates t's Rules for s's parameter values as
// CloudFormation does before it creates a change set, and returns the
// AssertDescription of every assertion that fails (a rule whose
// RuleCondition is false asserts nothing), sorted. Parameters take their
// Default when not given and must pass their AllowedPattern and
// AllowedValues, as Render's do; a CommaDelimitedList is a list.
//
// It evaluates Ref of a parameter and the rule functions Fn::And, Fn::Or,
// Fn::Not, Fn::Equals, Fn::Contains, Fn::EachMemberEquals and
// Fn::EachMemberIn, strictly (Fn::Equals of strings only, Fn::And and
// Fn::Or of 2 to 10 conditions), and fails on anything else: Fn::RefAll,
// Fn::ValueOf and Fn::ValueOfAll read the account's resources, and no other
// function is allowed in Rules at all (see RuleFunctions).
func RuleFailures(t Template, s Stack) ([]string, error) {
	r := &renderer{t: t, values: map[string]any{}}
	if err := r.parameters(s.Params); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(asMap(t["Rules"])))
	for name := range asMap(t["Rules"]) {
		names = append(names, name)
	}
	sort.Strings(names)
	var failed []string
	for _, name := range names {
		rule := asMap(asMap(t["Rules"])[name])
		if cond, ok := rule["RuleCondition"]; ok {
			on, err := r.ruleBool(cond)
			if err != nil {
				return nil, fmt.Errorf("cfntest: Rules.%s.RuleCondition: %w", name, err)
			}
			if !on {
				continue
			}
		}
		asserts, _ := rule["Assertions"].([]any)
		if len(asserts) == 0 {
			return nil, fmt.Errorf("cfntest: Rules.%s has no Assertions", name)
		}
		for i, a := range asserts {
			ok, err := r.ruleBool(asMap(a)["Assert"])
			if err != nil {
				return nil, fmt.Errorf("cfntest: Rules.%s.Assertions[%d]: %w", name, i, err)
			}
			if !ok {
				failed = append(failed, fmt.Sprint(asMap(a)["AssertDescription"]))
			}
		}
	}
	sort.Strings(failed)
	return failed, nil
}

// RuleFunctions are the functions AWS documents for a template's Rules
// (the "Rule functions" page of the CloudFormation template reference:
// Ref, and the rule-specific functions, which may nest in each other).
// Nothing else, not Fn::Join, not Fn::Sub, may appear in a rule.
var RuleFunctions = []string{"Ref", "Fn::And", "Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn",
	"Fn::Equals", "Fn::Not", "Fn::Or", "Fn::RefAll", "Fn::ValueOf", "Fn::ValueOfAll"}

func (r *renderer) ruleBool(v any) (bool, error) {
	out, err := r.rule(v)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("%v is not a condition", v)
	}
	return b, nil
}

// rule evaluates one rule expression: a literal string or list, or a
// function.
func (r *renderer) rule(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			rv, err := r.rule(it)
			if err != nil {
				return nil, err
			}
			out[i] = rv
		}
		return out, nil
	case map[string]any:
		if len(x) != 1 {
			return nil, fmt.Errorf("%v is not one function", x)
		}
		for fn, arg := range x {
			return r.ruleFunction(fn, arg)
		}
	}
	return nil, fmt.Errorf("%v (%T) is not a string, a list or a function", v, v)
}

func (r *renderer) ruleFunction(fn string, arg any) (any, error) {
	if fn == "Ref" {
		name, _ := arg.(string)
		if _, ok := asMap(r.t["Parameters"])[name]; !ok {
			return nil, fmt.Errorf("a Ref to %v: not a parameter of the template", arg)
		}
		return r.values[name], nil
	}
	if !slices.Contains(RuleFunctions, fn) {
		return nil, fmt.Errorf("%s is not a rule function (Rules allow only %v)", fn, RuleFunctions)
	}
	raw, _ := arg.([]any)
	args, err := r.rule(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	a, _ := args.([]any)
	switch fn {
	case "Fn::Not", "Fn::And", "Fn::Or":
		if fn != "Fn::Not" && (len(a) < 2 || len(a) > 10) {
			return nil, fmt.Errorf("%s takes 2 to 10 conditions, not %d", fn, len(a))
		}
		return logic(fn, a)
	case "Fn::Equals":
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Equals wants 2 arguments: %v", arg)
		}
		x, ok1 := a[0].(string)
		y, ok2 := a[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("Fn::Equals of %v: compare two strings (a list parameter wants Fn::Contains or Fn::EachMemberEquals)", a)
		}
		return x == y, nil
	case "Fn::Contains", "Fn::EachMemberEquals":
		list, err := ruleList(fn, a, 0)
		if err != nil {
			return nil, err
		}
		s, ok := a[1].(string)
		if !ok {
			return nil, fmt.Errorf("%s: %v is not a string", fn, a[1])
		}
		if fn == "Fn::Contains" {
			return slices.Contains(list, s), nil
		}
		return !slices.ContainsFunc(list, func(x string) bool { return x != s }), nil
	case "Fn::EachMemberIn":
		check, err := ruleList(fn, a, 0)
		if err != nil {
			return nil, err
		}
		match, err := ruleList(fn, a, 1)
		if err != nil {
			return nil, err
		}
		return !slices.ContainsFunc(check, func(x string) bool { return !slices.Contains(match, x) }), nil
	}
	return nil, fmt.Errorf("%s reads the account's resources: not evaluated here", fn)
}

// ruleList returns argument i of a two-argument rule function as a list
// of strings.
func ruleList(fn string, args []any, i int) ([]string, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("%s wants 2 arguments: %v", fn, args)
	}
	list, err := stringList(args[i])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return list, nil
}
