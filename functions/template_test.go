package functions_test

import (
	"reflect"
	"testing"
)

// The deployment rules that cfn-lint cannot check: least-privilege IAM
// scoping, the Globals, the rotator's concurrency and timeout, the build
// method and the alarms' metric contract. Each rule is a function from the
// parsed template (and the Makefile) to a list of problems, so that
// TestTemplateRulesCatchMutations can break a parsed copy and see the rule
// fire.

const (
	templatePath  = "../template.yaml"
	makefilePath  = "../Makefile"
	samconfigPath = "../samconfig.toml"
	profilesDir   = "rotator/profiles"

	rotatorID = "RotatorFunction"
	readerID  = "TokenReaderPolicy"
	kmsCond   = "HasKmsKey"
	// secretsKmsCond guards the grant on the key of the client-credential secrets.
	secretsKmsCond = "HasSecretsKmsKey"
	topicCond      = "HasAlarmTopic"

	// Every token parameter ARN starts with this; its rendering keeps the
	// template's ${...} references (see render).
	parameterArnPrefix = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${TokenParameterPrefix}/"
	// The only parameters the rotator may delete: its leases.
	leaseArn = parameterArnPrefix + "*.lock"
	// The only secrets the rotator may read.
	secretsArn = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretsPrefix}*"
)

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

type rule struct {
	name  string
	check func(tpl map[string]any, makefile string) []string
}

var rules = []rule{
	{"policies are written in this template", ruleCheckablePolicies},
	{"no data-plane action on Resource *", ruleNoWildcardResource},
	{"only the rotator reads secrets, under SecretsPrefix", ruleSecretsScope},
	{"parameters only under TokenParameterPrefix", ruleParameterScope},
	{"readers are read-only", ruleReadersReadOnly},
	{"kms only under HasKmsKey or HasSecretsKmsKey", ruleKMS},
	{"parameter constraints", ruleParameterConstraints},
	{"globals", ruleGlobals},
	{"rotator function", ruleRotator},
	{"function environments", ruleEnvironments},
	{"makefile build method", ruleBuild},
	{"alarms", ruleAlarms},
	{"reader policy output", ruleOutputs},
}

// templateProblems runs every rule.
func templateProblems(tpl map[string]any, makefile string) []string {
	var all []string
	for _, r := range rules {
		all = append(all, r.check(tpl, makefile)...)
	}
	return all
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

func TestTemplateParsesShortFormTags(t *testing.T) {
	src := []byte(`
a: !Ref X
b: !Sub "arn:${AWS::Partition}:x"
c: !GetAtt Queue.Arn
d: !If [C, [!Ref T], !Ref AWS::NoValue]
e: !Not [!Equals [!Ref K, ""]]
f: !Join ["", ["a", !Ref B]]
`)
	got, err := parseTemplate(src)
	if err != nil {
		t.Fatalf("parseTemplate: %v", err)
	}
	want := map[string]any{
		"a": map[string]any{"Ref": "X"},
		"b": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:x"},
		"c": map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}},
		"d": map[string]any{"Fn::If": []any{"C", []any{map[string]any{"Ref": "T"}}, map[string]any{"Ref": "AWS::NoValue"}}},
		"e": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "K"}, ""}}}},
		"f": map[string]any{"Fn::Join": []any{"", []any{"a", map[string]any{"Ref": "B"}}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseTemplate = %#v; want %#v", got, want)
	}
	for k, want := range map[string]string{"a": "${X}", "b": "arn:${AWS::Partition}:x", "c": "${Queue.Arn}", "f": "a${B}"} {
		if got := render(got[k]); got != want {
			t.Errorf("render(%s) = %q; want %q", k, got, want)
		}
	}
}

func TestTemplateRules(t *testing.T) {
	tpl := loadTemplate(t)
	mk := loadMakefile(t)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for _, p := range r.check(tpl, mk) {
				t.Error(p)
			}
		})
	}
}

// TestTemplateStatementsFound guards the rules against passing vacuously:
// the statements they inspect are really found.
func TestTemplateStatementsFound(t *testing.T) {
	stmts, _ := collectStatements(loadTemplate(t))
	want := map[string][]string{
		rotatorID:          {"ReadClientCredentials", "ReadTokenRecords", "WriteTokenRecords", "ReleaseLeases", "UseTokenKeyThroughSSM"},
		readerID:           {"ReadTokenRecords", "DecryptTokenRecordsThroughSSM"},
		"ConsumerFunction": {"ReadOwnTokenRecord", "DecryptOwnTokenRecordThroughSSM"},
	}
	for owner, sids := range want {
		for _, sid := range sids {
			if findStatement(stmts, owner, sid) == nil {
				t.Errorf("collectStatements: no %s statement %s", owner, sid)
			}
		}
	}
}

func findStatement(stmts []statement, owner, sid string) map[string]any {
	for _, s := range stmts {
		if s.owner == owner && s.doc["Sid"] == sid {
			return s.doc
		}
	}
	return nil
}
