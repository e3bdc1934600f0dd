package functions_test

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// dataPlane are the actions that touch tokens, credentials or their keys.
// Any kms action counts too (see isDataPlane).
var dataPlane = []string{
	"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory",
	"ssm:PutParameter", "ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:LabelParameterVersion",
	"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:BatchGetSecretValue",
	"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo",
}

// writeActions change stored tokens, credentials or keys.
var writeActions = []string{
	"ssm:PutParameter", "ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:LabelParameterVersion",
	"ssm:AddTagsToResource", "ssm:RemoveTagsFromResource",
	"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:CreateSecret",
	"secretsmanager:DeleteSecret", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptTo",
}

// readerActions are all that a principal other than the rotator may hold.
var readerActions = []string{"ssm:GetParameter", "ssm:GetParameters", "kms:Decrypt"}

// rotatorSSMActions and rotatorKMSActions are all the rotator needs.
var (
	rotatorSSMActions = []string{"ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter", "ssm:GetParameterHistory"}
	rotatorKMSActions = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}
)

// ---------------------------------------------------------------------------
// IAM statements
// ---------------------------------------------------------------------------

// statement is one IAM policy statement found in the template.
type statement struct {
	owner  string         // logical ID of the function, role or policy that grants it
	where  string         // where it is, for messages
	guards []string       // conditions it is guarded by: "C" in Fn::If's true branch, "!C" in the false one
	doc    map[string]any // the statement itself (shared with the template, so tests can mutate it)
}

func (s statement) allow() bool { return get(s.doc, "Effect") == "Allow" }

func (s statement) guardedBy(cond string) bool {
	return slices.Contains(s.guards, cond) && !slices.Contains(s.guards, "!"+cond)
}

// actions lists the statement's actions (patterns, as written).
func (s statement) actions() []string {
	return strings1(s.doc["Action"])
}

// resources renders the statement's resources, expanding Fn::If into both
// branches.
func (s statement) resources() []string {
	var out []string
	expandIf(s.doc["Resource"], nil, func(v any, _ []string) {
		if items, ok := v.([]any); ok {
			for _, it := range items {
				expandIf(it, nil, func(v any, _ []string) { out = append(out, render(v)) })
			}
			return
		}
		out = append(out, render(v))
	})
	return out
}

// strings1 reads a string or a list of strings.
func strings1(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, it := range x {
			out = append(out, render(it))
		}
		return out
	}
	if v == nil {
		return nil
	}
	return []string{render(v)}
}

// expandIf calls fn with v, or with each branch of an Fn::If (recording the
// condition in guards), skipping AWS::NoValue.
func expandIf(v any, guards []string, fn func(v any, guards []string)) {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if ref, ok := m["Ref"].(string); ok && ref == "AWS::NoValue" {
			return
		}
		if args, ok := m["Fn::If"].([]any); ok && len(args) == 3 {
			cond, _ := args[0].(string)
			expandIf(args[1], append(slices.Clone(guards), cond), fn)
			expandIf(args[2], append(slices.Clone(guards), "!"+cond), fn)
			return
		}
	}
	fn(v, guards)
}

// collectStatements finds every IAM statement the template grants: in
// functions' Policies, managed policies, policies and roles. It also
// reports grants it cannot check (AWS managed policies by name, SAM policy
// templates, a function's own Role), since those would bypass every rule.
func collectStatements(tpl map[string]any) ([]statement, []string) {
	var stmts []statement
	var problems []string
	addDocument := func(owner, where string, doc any, guards []string) {
		expandIf(get(doc, "Statement"), guards, func(v any, guards []string) {
			list, ok := v.([]any)
			if !ok {
				list = []any{v}
			}
			for i, it := range list {
				expandIf(it, guards, func(v any, guards []string) {
					m, ok := v.(map[string]any)
					if !ok {
						problems = append(problems, fmt.Sprintf("%s: statement %d is a %T, not a mapping", where, i, v))
						return
					}
					name := fmt.Sprintf("%s statement %d", where, i)
					if sid, ok := m["Sid"].(string); ok {
						name = fmt.Sprintf("%s statement %s", where, sid)
					}
					stmts = append(stmts, statement{owner: owner, where: name, guards: guards, doc: m})
				})
			}
		})
	}
	templatePolicy := func(v any) bool {
		ref, ok := get(v, "Ref").(string)
		return ok && get(tpl, "Resources", ref, "Type") == "AWS::IAM::ManagedPolicy"
	}
	resources := getMap(tpl, "Resources")
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		props := getMap(resources[id], "Properties")
		switch get(resources[id], "Type") {
		case "AWS::Serverless::Function":
			if props["Role"] != nil {
				problems = append(problems, fmt.Sprintf("%s: sets its own Role; grant access through Policies so these rules can check it", id))
			}
			policies := props["Policies"]
			if _, ok := policies.([]any); !ok && policies != nil {
				policies = []any{policies}
			}
			items, _ := policies.([]any)
			for i, item := range items {
				where := fmt.Sprintf("%s.Policies[%d]", id, i)
				expandIf(item, nil, func(v any, guards []string) {
					switch {
					case templatePolicy(v):
						// Checked as its own resource.
					case get(v, "Statement") != nil:
						addDocument(id, where, v, guards)
					default:
						if s, ok := v.(string); ok {
							problems = append(problems, fmt.Sprintf("%s: attaches policy %q by name; write the statements in this template so their scope is checked", where, s))
							return
						}
						problems = append(problems, fmt.Sprintf("%s: uses a SAM policy template or an unknown form (%s); write the statements in this template so their scope is checked", where, render(v)))
					}
				})
			}
		case "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy":
			addDocument(id, id, props["PolicyDocument"], nil)
		case "AWS::IAM::Role":
			items, _ := props["Policies"].([]any)
			for i, p := range items {
				addDocument(id, fmt.Sprintf("%s.Policies[%d]", id, i), get(p, "PolicyDocument"), nil)
			}
			arns, _ := props["ManagedPolicyArns"].([]any)
			for _, a := range arns {
				if !templatePolicy(a) {
					problems = append(problems, fmt.Sprintf("%s: attaches managed policy %s; only this template's policies can be checked", id, render(a)))
				}
			}
		}
	}
	return stmts, problems
}

// actionPattern compiles an IAM action pattern (with * and ?) into a
// case-insensitive regular expression.
func actionPattern(p string) *regexp.Regexp {
	q := regexp.QuoteMeta(p)
	q = strings.ReplaceAll(q, `\*`, `.*`)
	q = strings.ReplaceAll(q, `\?`, `.`)
	return regexp.MustCompile(`(?i)^` + q + `$`)
}

// matchesAny reports whether pattern grants any of actions.
func matchesAny(pattern string, actions []string) bool {
	re := actionPattern(pattern)
	for _, a := range actions {
		if re.MatchString(a) {
			return true
		}
	}
	return false
}

// grantsService reports whether pattern grants any action of a service
// ("kms"), including through wildcards such as "*" or "k*".
func grantsService(pattern, svc string) bool {
	return strings.HasPrefix(strings.ToLower(pattern), svc+":") || actionPattern(pattern).MatchString(svc+":AnyAction")
}

func isDataPlane(pattern string) bool {
	return grantsService(pattern, "kms") || matchesAny(pattern, dataPlane)
}

// containsFold reports whether list holds s, ignoring case (IAM action
// names are case-insensitive).
func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
