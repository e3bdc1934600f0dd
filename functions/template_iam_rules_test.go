package functions_test

import (
	"fmt"
	"slices"
	"strings"
)

func ruleCheckablePolicies(tpl map[string]any, _ string) []string {
	_, problems := collectStatements(tpl)
	return problems
}

// ruleNoWildcardResource: an Allow that grants a data-plane action names
// its resources: never "*", never NotResource/NotAction, and only ARNs in
// this account and region (or the configured KMS key).
func ruleNoWildcardResource(tpl map[string]any, _ string) []string {
	stmts, _ := collectStatements(tpl)
	var problems []string
	for _, s := range stmts {
		if !s.allow() {
			continue
		}
		for _, k := range []string{"NotAction", "NotResource"} {
			if s.doc[k] != nil {
				problems = append(problems, fmt.Sprintf("%s: Allow with %s grants everything it does not name", s.where, k))
			}
		}
		var dp []string
		for _, a := range s.actions() {
			if isDataPlane(a) {
				dp = append(dp, a)
			}
		}
		if len(dp) == 0 {
			continue
		}
		for _, r := range s.resources() {
			switch {
			case r == "*":
				problems = append(problems, fmt.Sprintf("%s: grants %s on Resource \"*\"", s.where, strings.Join(dp, ", ")))
			case r == "${KmsKeyId}", r == "${SecretsKmsKeyId}":
			case !strings.HasPrefix(r, "arn:${AWS::Partition}:") || !strings.Contains(r, ":${AWS::Region}:${AWS::AccountId}:"):
				problems = append(problems, fmt.Sprintf("%s: grants %s on %q, not an ARN in this stack's account and region", s.where, strings.Join(dp, ", "), r))
			}
		}
	}
	return problems
}

// ruleSecretsScope: only the rotator touches Secrets Manager, only to read
// secret values, and only under SecretsPrefix.
func ruleSecretsScope(tpl map[string]any, _ string) []string {
	stmts, _ := collectStatements(tpl)
	var problems []string
	found := false
	for _, s := range stmts {
		if !s.allow() {
			continue
		}
		var acts []string
		for _, a := range s.actions() {
			if grantsService(a, "secretsmanager") {
				acts = append(acts, a)
			}
		}
		if len(acts) == 0 {
			continue
		}
		if s.owner != rotatorID {
			problems = append(problems, fmt.Sprintf("%s: grants %s; only %s may touch Secrets Manager", s.where, strings.Join(acts, ", "), rotatorID))
			continue
		}
		for _, a := range acts {
			if !strings.EqualFold(a, "secretsmanager:GetSecretValue") {
				problems = append(problems, fmt.Sprintf("%s: grants %s; the rotator needs only secretsmanager:GetSecretValue", s.where, a))
			}
		}
		for _, r := range s.resources() {
			if r != secretsArn {
				problems = append(problems, fmt.Sprintf("%s: secretsmanager resource %q is not scoped to SecretsPrefix (want %q)", s.where, r, secretsArn))
			}
		}
		found = true
	}
	if !found {
		problems = append(problems, fmt.Sprintf("%s: no secretsmanager:GetSecretValue on %s", rotatorID, secretsArn))
	}
	return problems
}

// ruleParameterScope: every ssm grant is under TokenParameterPrefix, the
// rotator can write there (and do nothing else in SSM), and it can delete
// only its leases (<prefix>/<profile>.lock), never a token record.
func ruleParameterScope(tpl map[string]any, _ string) []string {
	stmts, _ := collectStatements(tpl)
	var problems []string
	canWrite := false
	for _, s := range stmts {
		if !s.allow() {
			continue
		}
		var acts []string
		for _, a := range s.actions() {
			if grantsService(a, "ssm") {
				acts = append(acts, a)
			}
		}
		if len(acts) == 0 {
			continue
		}
		for _, r := range s.resources() {
			if !strings.HasPrefix(r, parameterArnPrefix) {
				problems = append(problems, fmt.Sprintf("%s: ssm resource %q is outside TokenParameterPrefix (want %s...)", s.where, r, parameterArnPrefix))
			}
		}
		if s.owner != rotatorID {
			continue
		}
		for _, a := range acts {
			if !containsFold(rotatorSSMActions, a) {
				problems = append(problems, fmt.Sprintf("%s: grants %s; the rotator needs only %s", s.where, a, strings.Join(rotatorSSMActions, ", ")))
			}
			if matchesAny(a, []string{"ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:GetParameterHistory"}) {
				for _, r := range s.resources() {
					if r != leaseArn {
						problems = append(problems, fmt.Sprintf("%s: grants %s on %q; the rotator may delete, or read the versions of, only its leases %s (a record's versions hold old tokens)", s.where, a, r, leaseArn))
					}
				}
			}
			if strings.EqualFold(a, "ssm:PutParameter") && len(s.guards) == 0 {
				canWrite = true
			}
		}
	}
	if !canWrite {
		problems = append(problems, fmt.Sprintf("%s: no unconditional ssm:PutParameter under %s", rotatorID, parameterArnPrefix))
	}
	return problems
}

// ruleReadersReadOnly: every principal but the rotator (the example
// consumer, TokenReaderPolicy, anything added later) only reads.
func ruleReadersReadOnly(tpl map[string]any, _ string) []string {
	stmts, _ := collectStatements(tpl)
	var problems []string
	readerReads := false
	for _, s := range stmts {
		if !s.allow() || s.owner == rotatorID {
			continue
		}
		for _, a := range s.actions() {
			switch {
			case matchesAny(a, writeActions):
				problems = append(problems, fmt.Sprintf("%s: %s grants write action %s; readers may hold only %s", s.where, s.owner, a, strings.Join(readerActions, ", ")))
			case !containsFold(readerActions, a):
				problems = append(problems, fmt.Sprintf("%s: %s grants %s; readers may hold only %s", s.where, s.owner, a, strings.Join(readerActions, ", ")))
			case s.owner == readerID && strings.EqualFold(a, "ssm:GetParameter"):
				readerReads = true
			}
		}
	}
	if get(tpl, "Resources", readerID, "Type") != "AWS::IAM::ManagedPolicy" {
		problems = append(problems, fmt.Sprintf("%s: missing, or not an AWS::IAM::ManagedPolicy", readerID))
	} else if !readerReads {
		problems = append(problems, fmt.Sprintf("%s: does not grant ssm:GetParameter", readerID))
	}
	return append(problems, readerDenies(stmts)...)
}

// readerDenies checks that TokenReaderPolicy, which grants every parameter
// under the prefix, denies the two that are not records: the leases and
// the failure record (as the cross-account reader role does).
func readerDenies(stmts []statement) []string {
	var problems []string
	for _, want := range []string{leaseArn, parameterArnPrefix + ".rotator.failures"} {
		if !slices.ContainsFunc(stmts, func(s statement) bool {
			return s.owner == readerID && !s.allow() && slices.Contains(s.actions(), "ssm:*") && slices.Contains(s.resources(), want)
		}) {
			problems = append(problems, fmt.Sprintf("%s: does not deny ssm:* on %s, which is no token record", readerID, want))
		}
	}
	return problems
}
