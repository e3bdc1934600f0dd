package cfntest

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Stack is what a deployment decides: the parameter values and the pseudo
// parameters.
type Stack struct {
	// Params are parameter values as given on deploy; a CommaDelimitedList
	// is one comma-separated string. A parameter not given takes its
	// Default.
	Params map[string]string
	// Account, Region and StackName are AWS::AccountId, AWS::Region and
	// AWS::StackName; the partition is "aws".
	Account, Region, StackName string
}

// Render returns t as CloudFormation deploys it for s (see the package
// documentation). It fails on a parameter without a value, on a value the
// parameter's AllowedPattern or AllowedValues refuse, and on an intrinsic
// function it does not know.
func Render(t Template, s Stack) (Template, error) {
	r := &renderer{t: t, values: map[string]any{
		"AWS::AccountId": s.Account, "AWS::Region": s.Region, "AWS::StackName": s.StackName,
		"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
	}, conds: map[string]bool{}}
	if err := r.parameters(s.Params); err != nil {
		return nil, err
	}
	out := Template{}
	for k, v := range t {
		switch k {
		case "Resources", "Outputs":
			section, err := r.section(asMap(v))
			if err != nil {
				return nil, fmt.Errorf("cfntest: %s.%w", k, err)
			}
			out[k] = section
		default:
			out[k] = v
		}
	}
	return out, nil
}

type renderer struct {
	t      Template
	values map[string]any // parameters and pseudo parameters
	conds  map[string]bool
}

// parameters resolves every parameter's value and checks it.
func (r *renderer) parameters(given map[string]string) error {
	for name, decl := range asMap(r.t["Parameters"]) {
		d := asMap(decl)
		raw, ok := given[name]
		if !ok {
			def, has := d["Default"]
			if !has {
				return fmt.Errorf("cfntest: parameter %s has no value and no Default", name)
			}
			raw = fmt.Sprint(def)
		}
		list := d["Type"] == "CommaDelimitedList"
		items := []string{raw}
		if list {
			items = strings.Split(raw, ",")
		}
		for _, it := range items {
			if err := allowed(name, d, it); err != nil {
				return err
			}
		}
		if list {
			r.values[name] = toAny(items)
		} else {
			r.values[name] = raw
		}
	}
	for name := range given {
		if _, ok := asMap(r.t["Parameters"])[name]; !ok {
			return fmt.Errorf("cfntest: the template has no parameter %s", name)
		}
	}
	return nil
}

func allowed(name string, d map[string]any, v string) error {
	if pat, ok := d["AllowedPattern"].(string); ok && !regexp.MustCompile("^(?:"+pat+")$").MatchString(v) {
		return fmt.Errorf("cfntest: parameter %s = %q does not match AllowedPattern %q", name, v, pat)
	}
	if vals, ok := d["AllowedValues"].([]any); ok && !slices.ContainsFunc(vals, func(a any) bool { return fmt.Sprint(a) == v }) {
		return fmt.Errorf("cfntest: parameter %s = %q is not one of %v", name, v, vals)
	}
	return nil
}

// section renders Resources or Outputs: entries whose Condition is false
// are left out.
func (r *renderer) section(in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for id, v := range in {
		entry := maps.Clone(asMap(v))
		if c, ok := entry["Condition"].(string); ok {
			on, err := r.condition(c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			if !on {
				continue
			}
		}
		val, keep, err := r.value(entry)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		if keep {
			out[id] = val
		}
	}
	return out, nil
}

// condition evaluates a named condition of the template.
func (r *renderer) condition(name string) (bool, error) {
	if v, ok := r.conds[name]; ok {
		return v, nil
	}
	expr, ok := asMap(r.t["Conditions"])[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	v, _, err := r.value(expr)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %v, not a boolean", name, v)
	}
	r.conds[name] = b
	return b, nil
}

// value renders v. keep is false for AWS::NoValue (and for what only
// held it), which the caller drops.
func (r *renderer) value(v any) (out any, keep bool, err error) {
	switch x := v.(type) {
	case []any:
		list := make([]any, 0, len(x))
		for _, it := range x {
			rv, keep, err := r.value(it)
			if err != nil {
				return nil, false, err
			}
			if keep {
				list = append(list, rv)
			}
		}
		return list, true, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(k, arg)
				}
			}
		}
		m := make(map[string]any, len(x))
		for k, it := range x {
			rv, keep, err := r.value(it)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", k, err)
			}
			if keep {
				m[k] = rv
			}
		}
		return m, true, nil
	}
	return v, true, nil
}

// intrinsic renders one intrinsic function.
func (r *renderer) intrinsic(fn string, arg any) (any, bool, error) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		if name == "AWS::NoValue" {
			return nil, false, nil
		}
		if v, ok := r.values[name]; ok {
			return v, true, nil
		}
		return map[string]any{"Ref": name}, true, nil // a resource
	case "Condition":
		name, _ := arg.(string)
		b, err := r.condition(name)
		return b, true, err
	case "Fn::GetAtt":
		return map[string]any{fn: arg}, true, nil
	case "Fn::If":
		args, _ := arg.([]any)
		if len(args) != 3 {
			return nil, false, fmt.Errorf("Fn::If wants 3 arguments: %v", arg)
		}
		name, _ := args[0].(string)
		on, err := r.condition(name)
		if err != nil {
			return nil, false, err
		}
		if on {
			return r.value(args[1])
		}
		return r.value(args[2])
	}
	args, _, err := r.value(arg)
	if err != nil {
		return nil, false, err
	}
	v, err := r.function(fn, args)
	return v, err == nil, err
}
