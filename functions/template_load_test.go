package functions_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// ---------------------------------------------------------------------------
// Reading the template
// ---------------------------------------------------------------------------

// loadTemplate parses template.yaml into maps, slices and scalars, with
// CloudFormation's short-form tags turned into their long form (!Sub x is
// {"Fn::Sub": x}, !Ref x is {"Ref": x}, !GetAtt a.b is {"Fn::GetAtt": [a, b]}).
// Every call returns a fresh copy that a test may change.
func loadTemplate(tb testing.TB) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(templatePath)
	if err != nil {
		tb.Fatalf("read template: %v", err)
	}
	tpl, err := parseTemplate(b)
	if err != nil {
		tb.Fatalf("parse %s: %v", templatePath, err)
	}
	return tpl
}

func loadMakefile(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(makefilePath)
	if err != nil {
		tb.Fatalf("read Makefile: %v", err)
	}
	return string(b)
}

func parseTemplate(b []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	v, err := decodeNode(&doc)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template is a %T, not a mapping", v)
	}
	return m, nil
}

// decodeNode converts a YAML node to plain Go values, expanding short-form
// intrinsic functions.
func decodeNode(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return decodeNode(n.Content[0])
	case yaml.AliasNode:
		return decodeNode(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := decodeNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := decodeNode(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if isShortForm(n.Tag) {
			v = n.Value
			if n.Tag == "!GetAtt" {
				// !GetAtt Resource.Attribute
				v = toAny(strings.SplitN(n.Value, ".", 2))
			}
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
	}
	if isShortForm(n.Tag) {
		return map[string]any{longForm(n.Tag): v}, nil
	}
	return v, nil
}

// isShortForm reports whether tag is a CloudFormation short-form tag such
// as !Sub, as opposed to a YAML core tag (!!str) or none.
func isShortForm(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// longForm maps !Ref to Ref, !Condition to Condition and !X to Fn::X.
func longForm(tag string) string {
	name := strings.TrimPrefix(tag, "!")
	if name == "Ref" || name == "Condition" {
		return name
	}
	return "Fn::" + name
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// get walks maps by key; it returns nil when a step is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func getMap(v any, keys ...string) map[string]any {
	m, _ := get(v, keys...).(map[string]any)
	return m
}

// resourcesOfType lists the logical IDs of resources of one type, sorted.
func resourcesOfType(tpl map[string]any, typ string) []string {
	var ids []string
	for id, r := range getMap(tpl, "Resources") {
		if get(r, "Type") == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// render turns a string-valued CloudFormation expression into one string,
// keeping references as ${Name} so that rules can compare ARNs written with
// !Sub, !Ref or !Join alike. Anything it cannot render comes out as <...>,
// which no rule accepts.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if len(x) != 1 {
			break
		}
		if ref, ok := x["Ref"].(string); ok {
			return "${" + ref + "}"
		}
		switch arg := x["Fn::Sub"].(type) {
		case string:
			return arg
		case []any:
			if len(arg) == 2 {
				s, _ := arg[0].(string)
				for k, val := range getMapValue(arg[1]) {
					s = strings.ReplaceAll(s, "${"+k+"}", render(val))
				}
				return s
			}
		}
		switch arg := x["Fn::GetAtt"].(type) {
		case []any:
			parts := make([]string, len(arg))
			for i, p := range arg {
				parts[i] = render(p)
			}
			return "${" + strings.Join(parts, ".") + "}"
		case string:
			return "${" + arg + "}"
		}
		if arg, ok := x["Fn::Join"].([]any); ok && len(arg) == 2 {
			sep, _ := arg[0].(string)
			items, _ := arg[1].([]any)
			parts := make([]string, len(items))
			for i, p := range items {
				parts[i] = render(p)
			}
			return strings.Join(parts, sep)
		}
	}
	return fmt.Sprintf("<%v>", v)
}

func getMapValue(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
