package cfntest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The intrinsic functions whose arguments are rendered first (Fn::Sub,
// Fn::Join, Fn::Select, the condition functions, …), and the helpers that
// read their arguments.

// function applies a function whose arguments are already rendered.
func (r *renderer) function(fn string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch fn {
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::Join":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Join wants 2 arguments: %v", arg)
		}
		items, err := stringList(args[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Join: %w", err)
		}
		return strings.Join(items, fmt.Sprint(args[0])), nil
	case "Fn::Split":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Split wants 2 arguments: %v", arg)
		}
		return toAny(strings.Split(fmt.Sprint(args[1]), fmt.Sprint(args[0]))), nil
	case "Fn::Select":
		list, _ := args[1].([]any)
		i, err := strconv.Atoi(fmt.Sprint(args[0]))
		if len(args) != 2 || err != nil || i < 0 || i >= len(list) {
			return nil, fmt.Errorf("Fn::Select: bad arguments %v", arg)
		}
		return list[i], nil
	case "Fn::Equals":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Equals wants 2 arguments: %v", arg)
		}
		return fmt.Sprint(args[0]) == fmt.Sprint(args[1]), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		return logic(fn, args)
	}
	return nil, fmt.Errorf("cfntest does not know %s", fn)
}

func logic(fn string, args []any) (any, error) {
	bs := make([]bool, len(args))
	for i, a := range args {
		b, ok := a.(bool)
		if !ok {
			return nil, fmt.Errorf("%s: argument %v is not a boolean", fn, a)
		}
		bs[i] = b
	}
	switch {
	case fn == "Fn::Not" && len(bs) == 1:
		return !bs[0], nil
	case fn == "Fn::And":
		return !slices.Contains(bs, false), nil
	case fn == "Fn::Or":
		return slices.Contains(bs, true), nil
	}
	return nil, fmt.Errorf("%s: bad arguments %v", fn, args)
}

var subVar = regexp.MustCompile(`\$\{(!?)([A-Za-z0-9_:.]+)\}`)

// sub renders Fn::Sub: ${Name} of a parameter, pseudo parameter or the
// variable map is replaced; ${Resource} and ${Resource.Attribute} stay.
func (r *renderer) sub(arg any) (any, error) {
	text, vars := "", map[string]any{}
	switch x := arg.(type) {
	case string:
		text = x
	case []any:
		if len(x) != 2 {
			return nil, fmt.Errorf("Fn::Sub: bad arguments %v", arg)
		}
		text, _ = x[0].(string)
		vars = asMap(x[1])
	default:
		return nil, fmt.Errorf("Fn::Sub: bad argument %v", arg)
	}
	var bad error
	out := subVar.ReplaceAllStringFunc(text, func(m string) string {
		g := subVar.FindStringSubmatch(m)
		if g[1] == "!" {
			return "${" + g[2] + "}"
		}
		v, ok := vars[g[2]]
		if !ok {
			v, ok = r.values[g[2]]
		}
		if !ok {
			return m // a resource or attribute
		}
		s, isString := v.(string)
		if !isString {
			bad = fmt.Errorf("Fn::Sub: ${%s} is %v, not a string", g[2], v)
		}
		return s
	})
	return out, bad
}

func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%v is not a list", v)
	}
	out := make([]string, len(list))
	for i, it := range list {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("item %v is not a string", it)
		}
		out[i] = s
	}
	return out, nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
