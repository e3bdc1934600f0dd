package cfntest

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed template: maps, slices and scalars, with the
// short-form tags in their long form (!Sub x is {"Fn::Sub": x}, !Ref x is
// {"Ref": x}, !GetAtt a.b is {"Fn::GetAtt": [a, b]}).
type Template = map[string]any

// Load reads and parses the template at path.
func Load(path string) (Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cfntest: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("cfntest: %s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template. Every call returns a fresh copy that the
// caller may change.
func Parse(b []byte) (Template, error) {
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
				var parts []any
				for _, p := range strings.SplitN(n.Value, ".", 2) {
					parts = append(parts, p)
				}
				v = parts
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
