package functions_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// kmsKeys are the customer managed keys the template may grant KMS
// actions on: each only under its condition, only through its service,
// and only to the principals and actions it serves.
var kmsKeys = []struct {
	param, cond, service, context string
	// data is what the context condition may match: this stack's data,
	// or (for a reader of the SSM key) one of its parameters.
	data           func(v string) bool
	rotatorActions []string // what the rotator may do with it
	readers        bool     // whether token readers may decrypt with it
}{
	{"KmsKeyId", kmsCond, "ssm", "kms:EncryptionContext:PARAMETER_ARN",
		func(v string) bool { return v == parameterArnPrefix+"*" || exactParameter(v) },
		rotatorKMSActions, true},
	{"SecretsKmsKeyId", secretsKmsCond, "secretsmanager", "kms:EncryptionContext:SecretARN",
		func(v string) bool { return v == secretsArn }, []string{"kms:Decrypt"}, false},
}

// exactParameter reports whether v names one parameter under the token
// prefix, without wildcards (the consumer's own record).
func exactParameter(v string) bool {
	rest, ok := strings.CutPrefix(v, parameterArnPrefix)
	return ok && rest != "" && !strings.ContainsAny(rest, "*?")
}

// ruleKMS: KMS permissions exist only when a customer managed key is
// configured, name that key, work only through the service whose data it
// encrypts, for that data only, and only for the principals that need it.
func ruleKMS(tpl map[string]any, _ string) []string {
	var problems []string
	for _, k := range kmsKeys {
		wantCond := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": k.param}, ""}}}}
		wantCond2 := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{"", map[string]any{"Ref": k.param}}}}}
		if got := get(tpl, "Conditions", k.cond); !reflect.DeepEqual(got, wantCond) && !reflect.DeepEqual(got, wantCond2) {
			problems = append(problems, fmt.Sprintf("Conditions.%s = %v; want %v", k.cond, got, wantCond))
		}
	}
	stmts, _ := collectStatements(tpl)
	for _, s := range stmts {
		if !s.allow() {
			continue
		}
		var acts []string
		for _, a := range s.actions() {
			if grantsService(a, "kms") {
				acts = append(acts, a)
			}
		}
		if len(acts) == 0 {
			continue
		}
		res := s.resources()
		key := -1
		for i, k := range kmsKeys {
			if slices.Equal(res, []string{"${" + k.param + "}"}) {
				key = i
			}
		}
		if key < 0 {
			problems = append(problems, fmt.Sprintf("%s: kms resource %q; want exactly one configured key (${KmsKeyId} or ${SecretsKmsKeyId})", s.where, res))
			continue
		}
		k := kmsKeys[key]
		if !s.guardedBy(k.cond) {
			problems = append(problems, fmt.Sprintf("%s: grants %s outside the %s condition", s.where, strings.Join(acts, ", "), k.cond))
		}
		want := k.service + ".${AWS::Region}.amazonaws.com"
		if via := get(s.doc, "Condition", "StringEquals", "kms:ViaService"); via == nil {
			problems = append(problems, fmt.Sprintf("%s: kms grant without a kms:ViaService condition (the key must be usable only through %s)", s.where, k.service))
		} else if got := render(via); got != want {
			problems = append(problems, fmt.Sprintf("%s: kms grant with kms:ViaService %q; want %q", s.where, got, want))
		}
		ctxCond := get(s.doc, "Condition", "StringLike", k.context)
		if ctxCond == nil {
			ctxCond = get(s.doc, "Condition", "StringEquals", k.context)
		}
		if ctxCond == nil {
			problems = append(problems, fmt.Sprintf("%s: kms grant without a %s condition (the key must open only this stack's data)", s.where, k.context))
		} else if v := render(ctxCond); !k.data(v) {
			problems = append(problems, fmt.Sprintf("%s: %s %q opens more than this stack's data", s.where, k.context, v))
		}
		switch {
		case s.owner == rotatorID:
			for _, a := range acts {
				if !containsFold(k.rotatorActions, a) {
					problems = append(problems, fmt.Sprintf("%s: grants %s on ${%s}; the rotator needs only %s", s.where, a, k.param, strings.Join(k.rotatorActions, ", ")))
				}
			}
		case !k.readers:
			problems = append(problems, fmt.Sprintf("%s: grants %s on ${%s}; only the rotator may use that key", s.where, strings.Join(acts, ", "), k.param))
		}
	}
	return problems
}
