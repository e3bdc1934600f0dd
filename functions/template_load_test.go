package functions_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/cfntest"
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

// parseTemplate parses a template with cfntest.Parse, as every template
// test and the cross-account tests' renderer do.
func parseTemplate(b []byte) (map[string]any, error) { return cfntest.Parse(b) }

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
