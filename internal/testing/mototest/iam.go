package mototest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The IAM policy evaluation the proxy applies to the roles it enforces
// (Proxy.EnforceRole). moto does not evaluate trust policies the way AWS
// does: in its opt-in authorization mode it matches a principal only by
// its exact ARN, so an account ("111111111111" or its :root ARN) matches
// no caller, and it does not know aws:PrincipalOrgID or
// aws:PrincipalOrgPaths, so a condition on them does not restrict (moto
// 5.2.1, iam/access_control.py). This is the smallest evaluation that
// decides what this project's policies need: Allow and Deny statements;
// Action and NotAction; Resource; Principal "*", an account ID, an
// account's :root ARN, a role ARN (which its sessions match) or a
// principal ARN; and the condition operators StringEquals, StringLike,
// StringNotEquals, StringNotLike, ArnEquals and ArnLike, with the
// ForAnyValue: and ForAllValues: set qualifiers. A policy it cannot
// evaluate (another element or operator) is an error, so that a change to
// the template is never evaluated as something it is not.

// identity is the principal making a request.
type identity struct {
	Account string
	ARN     string // the user's, or the session's arn:aws:sts::…:assumed-role/role/session
	RoleARN string // the role of a session; empty for a user
}

// principalARN is what aws:PrincipalArn holds: the role for a session.
func (id identity) principalARN() string {
	if id.RoleARN != "" {
		return id.RoleARN
	}
	return id.ARN
}

// evalRequest is one authorization question.
type evalRequest struct {
	action   string
	resource string // "" for a trust policy, which has no Resource
	caller   identity
	context  map[string][]string // condition keys, lower case
}

type decision int

const (
	neutral decision = iota // no statement applies: an implicit deny
	allowed
	denied // an explicit deny
)

type statementDoc struct {
	Sid       string
	Effect    string
	Principal any
	Action    any
	NotAction any
	Resource  any
	Condition map[string]map[string]any
}

// evaluate decides req against the policy documents: an explicit deny
// wins, then any allow.
func evaluate(docs [][]byte, req evalRequest) (decision, error) {
	out := neutral
	for _, doc := range docs {
		var p struct {
			Statement json.RawMessage
		}
		if err := json.Unmarshal(doc, &p); err != nil {
			return neutral, fmt.Errorf("mototest: policy: %w", err)
		}
		var stmts []statementDoc
		if err := json.Unmarshal(p.Statement, &stmts); err != nil {
			var one statementDoc
			if err := json.Unmarshal(p.Statement, &one); err != nil {
				return neutral, fmt.Errorf("mototest: policy statements: %w", err)
			}
			stmts = []statementDoc{one}
		}
		for _, s := range stmts {
			applies, err := s.applies(req)
			if err != nil {
				return neutral, fmt.Errorf("mototest: statement %q: %w", s.Sid, err)
			}
			switch {
			case !applies:
			case s.Effect == "Deny":
				return denied, nil
			case s.Effect == "Allow":
				out = allowed
			default:
				return neutral, fmt.Errorf("mototest: statement %q: Effect %q", s.Sid, s.Effect)
			}
		}
	}
	return out, nil
}

func (s statementDoc) applies(req evalRequest) (bool, error) {
	switch {
	case s.Action != nil && !anyMatch(list(s.Action), req.action, false):
		return false, nil
	case s.NotAction != nil && anyMatch(list(s.NotAction), req.action, false):
		return false, nil
	case s.Action == nil && s.NotAction == nil:
		return false, fmt.Errorf("no Action")
	}
	if req.resource != "" && !anyMatch(list(s.Resource), req.resource, true) {
		return false, nil
	}
	if s.Principal != nil {
		ok, err := principalMatches(s.Principal, req.caller)
		if !ok || err != nil {
			return false, err
		}
	}
	for op, keys := range s.Condition {
		for key, want := range keys {
			ok, err := conditionHolds(op, req.context[strings.ToLower(key)], list(want))
			if err != nil {
				return false, fmt.Errorf("condition %s %s: %w", op, key, err)
			}
			if !ok {
				return false, nil
			}
		}
	}
	return true, nil
}

// principalMatches decides a trust statement's Principal.
func principalMatches(p any, caller identity) (bool, error) {
	if p == "*" {
		return true, nil
	}
	m, ok := p.(map[string]any)
	if !ok {
		return false, fmt.Errorf("principal %v is neither \"*\" nor a mapping", p)
	}
	for kind, v := range m {
		if kind != "AWS" {
			continue // Service, Federated: never a caller of these tests
		}
		for _, want := range list(v) {
			switch {
			case want == "*", want == caller.Account, want == "arn:aws:iam::"+caller.Account+":root":
				return true, nil
			case want == caller.RoleARN, want == caller.ARN:
				return true, nil
			}
		}
	}
	return false, nil
}

// conditionHolds applies one condition operator to a key's values.
func conditionHolds(op string, have, want []string) (bool, error) {
	set, base, _ := strings.Cut(op, ":")
	if base == "" {
		set, base = "", op
	}
	var match func(pattern, value string) bool
	negate := false
	switch base {
	case "StringEquals", "ArnEquals":
		match = func(p, v string) bool { return p == v }
	case "StringLike", "ArnLike":
		match = func(p, v string) bool { return glob(p, false).MatchString(v) }
	case "StringNotEquals":
		match, negate = func(p, v string) bool { return p == v }, true
	case "StringNotLike":
		match, negate = func(p, v string) bool { return glob(p, false).MatchString(v) }, true
	default:
		return false, fmt.Errorf("operator %s is not modelled", op)
	}
	one := func(v string) bool {
		hit := anyOf(want, func(p string) bool { return match(p, v) })
		return hit != negate
	}
	switch set {
	case "ForAllValues":
		return allOf(have, one), nil
	case "", "ForAnyValue":
		if len(have) == 0 {
			return negate && set == "", nil
		}
		return anyOf(have, one), nil
	}
	return false, fmt.Errorf("set operator %s is not modelled", set)
}

func anyMatch(patterns []string, v string, caseSensitive bool) bool {
	return anyOf(patterns, func(p string) bool { return glob(p, !caseSensitive).MatchString(v) })
}

func anyOf(xs []string, f func(string) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

func allOf(xs []string, f func(string) bool) bool {
	for _, x := range xs {
		if !f(x) {
			return false
		}
	}
	return true
}

// glob compiles an IAM pattern: * is any run of characters (/ included),
// ? any one character.
func glob(p string, fold bool) *regexp.Regexp {
	q := regexp.QuoteMeta(p)
	q = strings.ReplaceAll(q, `\*`, `.*`)
	q = strings.ReplaceAll(q, `\?`, `.`)
	if fold {
		q = "(?i)" + q
	}
	return regexp.MustCompile(`^` + q + `$`)
}

// list reads a policy element that is a string or a list of strings.
func list(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, it := range x {
			out = append(out, fmt.Sprint(it))
		}
		return out
	}
	return nil
}
