package functions_test

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
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
	rotatorSSMActions = []string{"ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter"}
	rotatorKMSActions = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}
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
			if matchesAny(a, []string{"ssm:DeleteParameter", "ssm:DeleteParameters"}) {
				for _, r := range s.resources() {
					if r != leaseArn {
						problems = append(problems, fmt.Sprintf("%s: grants %s on %q; the rotator may delete only its leases %s", s.where, a, r, leaseArn))
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
	return problems
}

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

// ruleParameterConstraints: the parameters the scoping depends on cannot be
// deployed with values that widen it (an empty prefix would make
// secret:${SecretsPrefix}* every secret).
func ruleParameterConstraints(tpl map[string]any, _ string) []string {
	var problems []string
	cases := []struct {
		param        string
		accept, deny []string
	}{
		{"TokenParameterPrefix", []string{"/oauth-tokens", "/team-a/oauth-tokens"}, []string{"", "/", "*", "/*", "oauth-tokens", "/oauth-tokens/", "/oauth-tokens/*"}},
		{"SecretsPrefix", []string{"oauth-clients/", "oauth-clients/aviv", "partner"}, []string{"", "*", "oauth-clients/*"}},
		{"KmsKeyId", []string{"", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, []string{"*", "alias/tokens", "arn:aws:kms:eu-west-1:123456789012:alias/tokens", "arn:aws:kms:eu-west-1:123456789012:key/*"}},
		{"SecretsKmsKeyId", []string{"", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, []string{"*", "alias/secrets", "arn:aws:kms:eu-west-1:123456789012:key/*"}},
		{"AlarmTopicArn", []string{"", "arn:aws:sns:eu-west-1:123456789012:oncall"}, []string{"*", "oncall"}},
	}
	for _, c := range cases {
		pat, _ := get(tpl, "Parameters", c.param, "AllowedPattern").(string)
		if pat == "" {
			problems = append(problems, fmt.Sprintf("Parameters.%s: no AllowedPattern", c.param))
			continue
		}
		// CloudFormation matches the whole value.
		re, err := regexp.Compile("^(?:" + pat + ")$")
		if err != nil {
			problems = append(problems, fmt.Sprintf("Parameters.%s: AllowedPattern %q: %v", c.param, pat, err))
			continue
		}
		for _, v := range c.accept {
			if !re.MatchString(v) {
				problems = append(problems, fmt.Sprintf("Parameters.%s: AllowedPattern %q refuses %q; want it accepted", c.param, pat, v))
			}
		}
		for _, v := range c.deny {
			if re.MatchString(v) {
				problems = append(problems, fmt.Sprintf("Parameters.%s: AllowedPattern %q accepts %q; want it refused", c.param, pat, v))
			}
		}
	}
	if got, want := get(tpl, "Parameters", "EnvironmentName", "AllowedValues"), []any{"sandbox", "production"}; !reflect.DeepEqual(got, want) {
		problems = append(problems, fmt.Sprintf("Parameters.EnvironmentName.AllowedValues = %v; want %v", got, want))
	}
	defaults := map[string]any{
		"TokenParameterPrefix": "/oauth-tokens",
		"ScheduleExpression":   "rate(5 minutes)",
		"KmsKeyId":             "",
		"AlarmTopicArn":        "",
	}
	for p, want := range defaults {
		if got := get(tpl, "Parameters", p, "Default"); got != want {
			problems = append(problems, fmt.Sprintf("Parameters.%s.Default = %#v; want %#v", p, got, want))
		}
	}
	return problems
}

// ruleGlobals: every function runs bootstrap on provided.al2023, arm64, and
// logs JSON.
func ruleGlobals(tpl map[string]any, _ string) []string {
	var problems []string
	want := map[string]any{
		"Runtime":       "provided.al2023",
		"Architectures": []any{"arm64"},
		"Handler":       "bootstrap",
	}
	fn := getMap(tpl, "Globals", "Function")
	for k, w := range want {
		if got := fn[k]; !reflect.DeepEqual(got, w) {
			problems = append(problems, fmt.Sprintf("Globals.Function.%s = %v; want %v", k, got, w))
		}
	}
	if got := get(fn, "LoggingConfig", "LogFormat"); got != "JSON" {
		problems = append(problems, fmt.Sprintf("Globals.Function.LoggingConfig.LogFormat = %v; want JSON", got))
	}
	for _, id := range resourcesOfType(tpl, "AWS::Serverless::Function") {
		props := getMap(tpl, "Resources", id, "Properties")
		for k, w := range want {
			if got, ok := props[k]; ok && !reflect.DeepEqual(got, w) {
				problems = append(problems, fmt.Sprintf("%s.%s = %v overrides Globals; want %v", id, k, got, w))
			}
		}
		if got := get(props, "LoggingConfig", "LogFormat"); got != nil && got != "JSON" {
			problems = append(problems, fmt.Sprintf("%s.LoggingConfig.LogFormat = %v overrides Globals; want JSON", id, got))
		}
	}
	return problems
}

// ruleRotator: one run at a time, a timeout that covers the retry budget,
// the schedule from the parameter, and failed runs kept in a queue.
func ruleRotator(tpl map[string]any, _ string) []string {
	var problems []string
	props := getMap(tpl, "Resources", rotatorID, "Properties")
	if props == nil {
		return []string{rotatorID + ": missing"}
	}
	if got := fmt.Sprint(props["ReservedConcurrentExecutions"]); got != "1" {
		problems = append(problems, fmt.Sprintf("%s.ReservedConcurrentExecutions = %s; want 1", rotatorID, got))
	}
	// Lambda's maximum: a first fill writes at PutParameterRate for as long
	// as it can (internal/rotate's write budget; internal/perf's first-fill
	// figures).
	if got := fmt.Sprint(props["Timeout"]); got != "900" {
		problems = append(problems, fmt.Sprintf("%s.Timeout = %s; want 900", rotatorID, got))
	}
	// Two schedules: the rotation itself, and the credentials check that
	// notices a changed client_id (scheduled runs read only due secrets).
	wantEvents := map[string]struct {
		param, input string
	}{
		"RotationSchedule": {"ScheduleExpression", ""},
		"CredentialsCheck": {"CredentialsCheckSchedule", `{"check_credentials": true}`},
	}
	events := getMap(props, "Events")
	for name, ev := range events {
		want, known := wantEvents[name]
		switch {
		case get(ev, "Type") != "Schedule":
			problems = append(problems, fmt.Sprintf("%s.Events.%s: type %v; want only the Schedule", rotatorID, name, get(ev, "Type")))
			continue
		case !known:
			problems = append(problems, fmt.Sprintf("%s.Events.%s: unexpected event", rotatorID, name))
			continue
		}
		if got, wantRef := get(ev, "Properties", "Schedule"), map[string]any{"Ref": want.param}; !reflect.DeepEqual(got, wantRef) {
			problems = append(problems, fmt.Sprintf("%s.Events.%s.Properties.Schedule = %v; want %v", rotatorID, name, got, wantRef))
		}
		if got := get(ev, "Properties", "Input"); (want.input == "" && got != nil) || (want.input != "" && got != want.input) {
			problems = append(problems, fmt.Sprintf("%s.Events.%s.Properties.Input = %v; want %q", rotatorID, name, got, want.input))
		}
	}
	for name := range wantEvents {
		if _, ok := events[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s.Events.%s: missing", rotatorID, name))
		}
	}
	eic := getMap(props, "EventInvokeConfig")
	if got := fmt.Sprint(eic["MaximumRetryAttempts"]); got != "0" {
		problems = append(problems, fmt.Sprintf("%s.EventInvokeConfig.MaximumRetryAttempts = %s; want 0 (the next scheduled run is the retry)", rotatorID, got))
	}
	onFailure := getMap(eic, "DestinationConfig", "OnFailure")
	dest := render(onFailure["Destination"])
	queue := strings.TrimSuffix(strings.TrimPrefix(dest, "${"), ".Arn}")
	if onFailure["Type"] != "SQS" || get(tpl, "Resources", queue, "Type") != "AWS::SQS::Queue" {
		problems = append(problems, fmt.Sprintf("%s.EventInvokeConfig.DestinationConfig.OnFailure = %v; want Type SQS and a queue of this stack", rotatorID, onFailure))
	}
	return problems
}

// ruleEnvironments: the functions get the environment they read.
func ruleEnvironments(tpl map[string]any, _ string) []string {
	ref := func(name string) any { return map[string]any{"Ref": name} }
	want := map[string]map[string]any{
		rotatorID: {
			"PROFILES_FILE":          map[string]any{"Fn::Sub": "profiles/${EnvironmentName}.yaml"},
			"TOKEN_PARAMETER_PREFIX": ref("TokenParameterPrefix"),
			"KMS_KEY_ID":             ref("KmsKeyId"),
			"METRICS_NAMESPACE":      ref("MetricsNamespace"),
			"ENVIRONMENT":            ref("EnvironmentName"),
			"ROTATOR_WRITE_RATE":     ref("PutParameterRate"),
			"SCHEDULE_EXPRESSION":    ref("ScheduleExpression"),
		},
		"ConsumerFunction": {
			"PROFILE":                ref("ConsumerProfile"),
			"API_BASE_URL":           ref("ConsumerApiBaseUrl"),
			"USER_AGENT":             ref("ConsumerUserAgent"),
			"TOKEN_PARAMETER_PREFIX": ref("TokenParameterPrefix"),
			"METRICS_NAMESPACE":      ref("MetricsNamespace"),
			"ENVIRONMENT":            ref("EnvironmentName"),
		},
	}
	var problems []string
	for _, id := range []string{rotatorID, "ConsumerFunction"} {
		env := map[string]any{}
		for k, v := range getMap(tpl, "Globals", "Function", "Environment", "Variables") {
			env[k] = v
		}
		for k, v := range getMap(tpl, "Resources", id, "Properties", "Environment", "Variables") {
			env[k] = v
		}
		for k, w := range want[id] {
			if got := env[k]; !reflect.DeepEqual(got, w) {
				problems = append(problems, fmt.Sprintf("%s environment %s = %v; want %v", id, k, got, w))
			}
		}
	}
	return problems
}

// ruleBuild: every function is built by the root Makefile's
// build-<LogicalId> target as a static arm64 bootstrap.
func ruleBuild(tpl map[string]any, makefile string) []string {
	var problems []string
	vars := makeVariables(makefile)
	for _, id := range resourcesOfType(tpl, "AWS::Serverless::Function") {
		if got := get(tpl, "Resources", id, "Metadata", "BuildMethod"); got != "makefile" {
			problems = append(problems, fmt.Sprintf("%s.Metadata.BuildMethod = %v; want makefile", id, got))
		}
		if got := get(tpl, "Resources", id, "Properties", "CodeUri"); got != "." {
			problems = append(problems, fmt.Sprintf("%s.CodeUri = %v; want . (the root Makefile)", id, got))
		}
		target := "build-" + id
		recipe, ok := makeRecipe(makefile, target)
		if !ok {
			problems = append(problems, fmt.Sprintf("Makefile: no target %s", target))
			continue
		}
		recipe = expandMake(recipe, vars)
		dir := strings.ToLower(strings.TrimSuffix(id, "Function"))
		need := []string{
			"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "-tags lambda.norpc", "-trimpath",
			"-ldflags", "-s -w", "-o $(ARTIFACTS_DIR)/bootstrap", "./functions/" + dir,
		}
		if id == rotatorID {
			need = append(need, "functions/rotator/profiles/", "$(ARTIFACTS_DIR)/profiles/")
		}
		for _, n := range need {
			if !strings.Contains(recipe, n) {
				problems = append(problems, fmt.Sprintf("Makefile %s: recipe lacks %q:\n%s", target, n, recipe))
			}
		}
	}
	return problems
}

var makeAssign = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*[:?]?=\s*(.*)$`)

// makeVariables reads simple VAR = value assignments. ARTIFACTS_DIR is left
// out: sam build sets it.
func makeVariables(makefile string) map[string]string {
	vars := map[string]string{}
	for _, line := range strings.Split(makefile, "\n") {
		if m := makeAssign.FindStringSubmatch(line); m != nil && m[1] != "ARTIFACTS_DIR" {
			vars[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return vars
}

// makeRecipe returns the tab-indented recipe lines of target.
func makeRecipe(makefile, target string) (string, bool) {
	lines := strings.Split(makefile, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, target+":") {
			continue
		}
		var recipe []string
		for _, l := range lines[i+1:] {
			if !strings.HasPrefix(l, "\t") {
				break
			}
			recipe = append(recipe, strings.TrimPrefix(l, "\t"))
		}
		return strings.Join(recipe, "\n"), true
	}
	return "", false
}

// expandMake substitutes $(VAR) for the known variables, then normalises
// -ldflags="-s -w" quoting so either quoting style matches.
func expandMake(s string, vars map[string]string) string {
	for range 5 {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "$("+k+")", v)
		}
	}
	return strings.ReplaceAll(s, `"`, "")
}

// ruleAlarms: the three alarms watch the metric contract the rotator emits
// and notify the topic when one is given.
func ruleAlarms(tpl map[string]any, _ string) []string {
	var problems []string
	ref := func(name string) any { return map[string]any{"Ref": name} }
	envDim := []any{map[string]any{"Name": "Environment", "Value": ref("EnvironmentName")}}
	want := []struct {
		metric, namespace any
		dims              []any
		op                string
		threshold         any
		missing           string
	}{
		{"Errors", "AWS/Lambda", []any{map[string]any{"Name": "FunctionName", "Value": ref(rotatorID)}}, "GreaterThanThreshold", 0, "notBreaching"},
		{"ProfilesFailed", ref("MetricsNamespace"), envDim, "GreaterThanThreshold", 0, "notBreaching"},
		{"MinSecondsUntilExpiry", ref("MetricsNamespace"), envDim, "LessThanThreshold", ref("ExpiryAlarmThresholdSeconds"), "breaching"},
	}
	actions := map[string]any{"Fn::If": []any{topicCond, []any{ref("AlarmTopicArn")}, ref("AWS::NoValue")}}
	if get(tpl, "Conditions", topicCond) == nil {
		problems = append(problems, fmt.Sprintf("Conditions.%s: missing", topicCond))
	}
	alarms := resourcesOfType(tpl, "AWS::CloudWatch::Alarm")
	for _, w := range want {
		found := false
		for _, id := range alarms {
			p := getMap(tpl, "Resources", id, "Properties")
			if p["MetricName"] != w.metric {
				continue
			}
			found = true
			check := func(field string, got, want any) {
				if !reflect.DeepEqual(got, want) {
					problems = append(problems, fmt.Sprintf("%s.%s = %v; want %v", id, field, got, want))
				}
			}
			check("Namespace", p["Namespace"], w.namespace)
			check("Dimensions", p["Dimensions"], w.dims)
			check("ComparisonOperator", p["ComparisonOperator"], w.op)
			check("Threshold", p["Threshold"], w.threshold)
			check("TreatMissingData", p["TreatMissingData"], w.missing)
			check("AlarmActions", p["AlarmActions"], actions)
		}
		if !found {
			problems = append(problems, fmt.Sprintf("no alarm on %v", w.metric))
		}
	}
	return problems
}

// ruleOutputs: TokenReaderPolicy is exported for other stacks.
func ruleOutputs(tpl map[string]any, _ string) []string {
	for name, out := range getMap(tpl, "Outputs") {
		if reflect.DeepEqual(get(out, "Value"), map[string]any{"Ref": readerID}) {
			if get(out, "Export", "Name") == nil {
				return []string{fmt.Sprintf("Outputs.%s: not exported", name)}
			}
			return nil
		}
	}
	return []string{fmt.Sprintf("Outputs: none exports %s", readerID)}
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

// TestTemplateRulesCatchMutations breaks a parsed copy of the template (or
// the Makefile) in the ways a careless edit would, and checks that a rule
// reports it.
func TestTemplateRulesCatchMutations(t *testing.T) {
	sub := func(s string) any { return map[string]any{"Fn::Sub": s} }
	stmt := func(tpl map[string]any, owner, sid string) map[string]any {
		stmts, _ := collectStatements(tpl)
		s := findStatement(stmts, owner, sid)
		if s == nil {
			t.Fatalf("no %s statement %s to mutate", owner, sid)
		}
		return s
	}
	// addStatement appends an unconditional statement to a function's
	// first inline policy.
	addStatement := func(tpl map[string]any, fn string, s map[string]any) {
		items, _ := get(tpl, "Resources", fn, "Properties", "Policies").([]any)
		for _, it := range items {
			if doc, ok := it.(map[string]any); ok && doc["Statement"] != nil {
				list, _ := doc["Statement"].([]any)
				doc["Statement"] = append(list, s)
				return
			}
		}
		t.Fatalf("%s has no inline policy to add to", fn)
	}
	props := func(tpl map[string]any, id string) map[string]any { return getMap(tpl, "Resources", id, "Properties") }

	tests := []struct {
		name   string
		mutate func(tpl map[string]any, mk *string)
		want   string
	}{
		{
			name: "rotator writes on Resource *",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "WriteTokenRecords")["Resource"] = "*"
			},
			want: `grants ssm:PutParameter on Resource "*"`,
		},
		{
			name: "consumer reads every parameter",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, "ConsumerFunction", map[string]any{"Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": "*"})
			},
			want: `on Resource "*"`,
		},
		{
			name: "reader policy decrypts with any key",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, readerID, "DecryptTokenRecordsThroughSSM")["Resource"] = []any{"*"}
			},
			want: `grants kms:Decrypt on Resource "*"`,
		},
		{
			name: "Allow with NotResource",
			mutate: func(tpl map[string]any, _ *string) {
				s := stmt(tpl, rotatorID, "ReadTokenRecords")
				delete(s, "Resource")
				s["NotResource"] = sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/other")
			},
			want: "Allow with NotResource",
		},
		{
			name: "rotator reads secrets beyond SecretsPrefix",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "ReadClientCredentials")["Resource"] = sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*")
			},
			want: "is not scoped to SecretsPrefix",
		},
		{
			name: "rotator manages secrets",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "ReadClientCredentials")["Action"] = "secretsmanager:*"
			},
			want: "the rotator needs only secretsmanager:GetSecretValue",
		},
		{
			name: "consumer reads secrets",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, "ConsumerFunction", map[string]any{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": sub(secretsArn)})
			},
			want: "only RotatorFunction may touch Secrets Manager",
		},
		{
			name: "rotator writes outside the token prefix",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "WriteTokenRecords")["Resource"] = sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/*")
			},
			want: "is outside TokenParameterPrefix",
		},
		{
			name: "rotator labels parameter versions",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "WriteTokenRecords")["Action"] = []any{"ssm:PutParameter", "ssm:LabelParameterVersion"}
			},
			want: "grants ssm:LabelParameterVersion; the rotator needs only",
		},
		{
			name: "rotator deletes token records",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "ReleaseLeases")["Resource"] = sub(parameterArnPrefix + "*")
			},
			want: "the rotator may delete only its leases",
		},
		{
			name: "rotator deletes in bulk",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "ReleaseLeases")["Action"] = "ssm:Delete*"
			},
			want: "grants ssm:Delete*; the rotator needs only",
		},
		{
			name: "rotator cannot write",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "WriteTokenRecords")["Action"] = "ssm:GetParameter"
			},
			want: "no unconditional ssm:PutParameter",
		},
		{
			name: "reader policy writes",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, readerID, "ReadTokenRecords")["Action"] = []any{"ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter"}
			},
			want: "TokenReaderPolicy grants write action ssm:PutParameter",
		},
		{
			name: "consumer writes with a wildcard action",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, "ConsumerFunction", "ReadOwnTokenRecord")["Action"] = "ssm:*"
			},
			want: "ConsumerFunction grants write action ssm:*",
		},
		{
			name: "consumer encrypts",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, "ConsumerFunction", "DecryptOwnTokenRecordThroughSSM")["Action"] = []any{"kms:Decrypt", "kms:Encrypt"}
			},
			want: "grants write action kms:Encrypt",
		},
		{
			name: "kms grant outside the condition",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, rotatorID, map[string]any{
					"Effect": "Allow", "Action": "kms:Decrypt", "Resource": map[string]any{"Ref": "KmsKeyId"},
					"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}},
				})
			},
			want: "grants kms:Decrypt outside the HasKmsKey condition",
		},
		{
			name: "kms grant without ViaService",
			mutate: func(tpl map[string]any, _ *string) {
				delete(stmt(tpl, rotatorID, "UseTokenKeyThroughSSM"), "Condition")
			},
			want: "without a kms:ViaService condition",
		},
		{
			name: "secrets key usable through SSM",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager"), "Condition", "StringEquals")["kms:ViaService"] =
					map[string]any{"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}
			},
			want: `want "secretsmanager.${AWS::Region}.amazonaws.com"`,
		},
		{
			name: "secrets key for any secret",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager"), "Condition"), "StringLike")
			},
			want: "without a kms:EncryptionContext:SecretARN condition",
		},
		{
			name: "secrets key for every secret of the account",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager"), "Condition", "StringLike")["kms:EncryptionContext:SecretARN"] =
					map[string]any{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*"}
			},
			want: `kms:EncryptionContext:SecretARN "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*" opens more`,
		},
		{
			name: "token key for every parameter",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(stmt(tpl, rotatorID, "UseTokenKeyThroughSSM"), "Condition", "StringLike")["kms:EncryptionContext:PARAMETER_ARN"] = "*"
			},
			want: `kms:EncryptionContext:PARAMETER_ARN "*" opens more`,
		},
		{
			name: "token key without its parameter context",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(stmt(tpl, rotatorID, "UseTokenKeyThroughSSM"), "Condition"), "StringLike")
			},
			want: "without a kms:EncryptionContext:PARAMETER_ARN condition",
		},
		{
			name: "secrets key grant outside its condition",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, rotatorID, map[string]any{
					"Effect": "Allow", "Action": "kms:Decrypt", "Resource": map[string]any{"Ref": "SecretsKmsKeyId"},
				})
			},
			want: "grants kms:Decrypt outside the HasSecretsKmsKey condition",
		},
		{
			name: "kms grant on a key of neither parameter",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager")["Resource"] = "arn:aws:kms:eu-west-1:123456789012:key/other"
			},
			want: "want exactly one configured key",
		},
		{
			name: "rotator encrypts with the secrets key",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager")["Action"] = []any{"kms:Decrypt", "kms:Encrypt"}
			},
			want: "grants kms:Encrypt on ${SecretsKmsKeyId}; the rotator needs only kms:Decrypt",
		},
		{
			name: "a reader may decrypt client credentials",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, "ConsumerFunction", map[string]any{
					"Effect": "Allow", "Action": "kms:Decrypt", "Resource": map[string]any{"Ref": "SecretsKmsKeyId"},
				})
			},
			want: "only the rotator may use that key",
		},
		{
			name: "HasSecretsKmsKey always true",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(tpl, "Conditions")[secretsKmsCond] = map[string]any{"Fn::Equals": []any{"a", "a"}}
			},
			want: "Conditions.HasSecretsKmsKey",
		},
		{
			name: "HasKmsKey always true",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(tpl, "Conditions")[kmsCond] = map[string]any{"Fn::Equals": []any{"a", "a"}}
			},
			want: "Conditions.HasKmsKey",
		},
		{
			name: "AWS managed policy attached by name",
			mutate: func(tpl map[string]any, _ *string) {
				p := props(tpl, "ConsumerFunction")
				p["Policies"] = append(p["Policies"].([]any), "AmazonSSMReadOnlyAccess")
			},
			want: `attaches policy "AmazonSSMReadOnlyAccess" by name`,
		},
		{
			name: "SAM policy template",
			mutate: func(tpl map[string]any, _ *string) {
				p := props(tpl, rotatorID)
				p["Policies"] = append(p["Policies"].([]any), map[string]any{"SSMParameterReadPolicy": map[string]any{"ParameterName": "*"}})
			},
			want: "uses a SAM policy template",
		},
		{
			name: "empty SecretsPrefix deployable",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(tpl, "Parameters", "SecretsPrefix")["AllowedPattern"] = ".*"
			},
			want: `Parameters.SecretsPrefix: AllowedPattern ".*" accepts ""`,
		},
		{
			name: "runtime overridden",
			mutate: func(tpl map[string]any, _ *string) {
				props(tpl, rotatorID)["Runtime"] = "provided.al2"
			},
			want: "RotatorFunction.Runtime = provided.al2 overrides Globals",
		},
		{
			name: "text logs",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(tpl, "Globals", "Function", "LoggingConfig")["LogFormat"] = "Text"
			},
			want: "LogFormat = Text; want JSON",
		},
		{
			name: "rotator may run twice at once",
			mutate: func(tpl map[string]any, _ *string) {
				props(tpl, rotatorID)["ReservedConcurrentExecutions"] = 2
			},
			want: "ReservedConcurrentExecutions = 2; want 1",
		},
		{
			name: "schedule hard-coded",
			mutate: func(tpl map[string]any, _ *string) {
				for _, ev := range getMap(props(tpl, rotatorID), "Events") {
					getMap(ev, "Properties")["Schedule"] = "rate(1 hour)"
				}
			},
			want: "Properties.Schedule = rate(1 hour)",
		},
		{
			name: "credentials check removed",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(props(tpl, rotatorID), "Events"), "CredentialsCheck")
			},
			want: "Events.CredentialsCheck: missing",
		},
		{
			name: "credentials check sends a plain scheduled run",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(props(tpl, rotatorID), "Events", "CredentialsCheck", "Properties"), "Input")
			},
			want: "Events.CredentialsCheck.Properties.Input = <nil>",
		},
		{
			name: "rotator timeout back to 120 s",
			mutate: func(tpl map[string]any, _ *string) {
				props(tpl, rotatorID)["Timeout"] = 120
			},
			want: "RotatorFunction.Timeout = 120; want 900",
		},
		{
			name: "write rate not passed to the rotator",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(props(tpl, rotatorID), "Environment", "Variables"), "ROTATOR_WRITE_RATE")
			},
			want: "ROTATOR_WRITE_RATE",
		},
		{
			name: "profiles file not per environment",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(props(tpl, rotatorID), "Environment", "Variables")["PROFILES_FILE"] = "profiles/production.yaml"
			},
			want: "RotatorFunction environment PROFILES_FILE",
		},
		{
			name: "build method dropped",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(tpl, "Resources", "ConsumerFunction", "Metadata"), "BuildMethod")
			},
			want: "ConsumerFunction.Metadata.BuildMethod = <nil>; want makefile",
		},
		{
			name: "Makefile drops lambda.norpc",
			mutate: func(_ map[string]any, mk *string) {
				*mk = strings.ReplaceAll(*mk, "-tags lambda.norpc ", "")
			},
			want: `recipe lacks "-tags lambda.norpc"`,
		},
		{
			name: "Makefile stops copying profiles",
			mutate: func(_ map[string]any, mk *string) {
				*mk = strings.ReplaceAll(*mk, "cp functions/rotator/profiles/*.yaml $(ARTIFACTS_DIR)/profiles/", "")
			},
			want: `build-RotatorFunction: recipe lacks "functions/rotator/profiles/"`,
		},
		{
			name: "stalled alarm ignores a stopped rotator",
			mutate: func(tpl map[string]any, _ *string) {
				props(tpl, "RotationStalledAlarm")["TreatMissingData"] = "notBreaching"
			},
			want: "RotationStalledAlarm.TreatMissingData = notBreaching; want breaching",
		},
		{
			name: "reader policy not exported",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(tpl, "Outputs", "TokenReaderPolicyArn"), "Export")
			},
			want: "Outputs.TokenReaderPolicyArn: not exported",
		},
	}
	if problems := templateProblems(loadTemplate(t), loadMakefile(t)); len(problems) != 0 {
		t.Fatalf("templateProblems of the unchanged template = %q; want none", problems)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := loadTemplate(t)
			mk := loadMakefile(t)
			tt.mutate(tpl, &mk)
			problems := templateProblems(tpl, mk)
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("after %q, templateProblems = %q; want one containing %q", tt.name, problems, tt.want)
		})
	}
}

// ---------------------------------------------------------------------------
// samconfig.toml
// ---------------------------------------------------------------------------

var overrideToken = regexp.MustCompile(`^\s*([A-Za-z0-9]+)=("(?:[^"\\]|\\.)*"|[^\s"]+)`)

// parseOverrides reads sam's parameter_overrides string:
// Key="value with spaces" Key2=value2.
func parseOverrides(s string) (map[string]string, error) {
	out := map[string]string{}
	for strings.TrimSpace(s) != "" {
		m := overrideToken.FindStringSubmatch(s)
		if m == nil {
			return nil, fmt.Errorf("cannot read %q", s)
		}
		v := m[2]
		if strings.HasPrefix(v, `"`) {
			v = strings.ReplaceAll(strings.Trim(v, `"`), `\"`, `"`)
		}
		out[m[1]] = v
		s = s[len(m[0]):]
	}
	return out, nil
}

// TestTemplateSamconfig checks that every environment in samconfig.toml
// deploys with capabilities, an S3 bucket and parameter overrides that
// template.yaml accepts, that production asks before it changes, and that
// the bundled profiles fit the stack those overrides deploy.
func TestTemplateSamconfig(t *testing.T) {
	tpl := loadTemplate(t)
	var cfg map[string]map[string]map[string]map[string]any
	if _, err := toml.DecodeFile(samconfigPath, &cfg); err != nil {
		t.Fatalf("decode %s: %v", samconfigPath, err)
	}
	stacks := map[string]string{}
	for _, env := range []string{"default", "sandbox", "production"} {
		t.Run(env, func(t *testing.T) {
			deploy := cfg[env]["deploy"]["parameters"]
			if deploy == nil {
				t.Fatalf("[%s.deploy.parameters] missing", env)
			}
			stack, _ := deploy["stack_name"].(string)
			stacks[env] = stack
			if stack == "" || deploy["region"] == nil {
				t.Errorf("[%s.deploy.parameters] stack_name = %q, region = %v; want both set", env, stack, deploy["region"])
			}
			if caps := fmt.Sprint(deploy["capabilities"]); !strings.Contains(caps, "CAPABILITY_IAM") {
				t.Errorf("[%s.deploy.parameters] capabilities = %s; want CAPABILITY_IAM (the stack creates roles and a managed policy)", env, caps)
			}
			if deploy["resolve_s3"] != true {
				t.Errorf("[%s.deploy.parameters] resolve_s3 = %v; want true", env, deploy["resolve_s3"])
			}
			if env == "production" && deploy["confirm_changeset"] != true {
				t.Errorf("[production.deploy.parameters] confirm_changeset = %v; want true", deploy["confirm_changeset"])
			}
			wantEnv := env
			if env == "default" {
				wantEnv = "sandbox"
			}
			for _, cmd := range []string{"deploy", "local_invoke"} {
				raw, ok := cfg[env][cmd]["parameters"]["parameter_overrides"].(string)
				if !ok {
					t.Errorf("[%s.%s.parameters] parameter_overrides missing", env, cmd)
					continue
				}
				overrides, err := parseOverrides(raw)
				if err != nil {
					t.Errorf("[%s.%s.parameters] parameter_overrides: %v", env, cmd, err)
					continue
				}
				if got := overrides["EnvironmentName"]; got != wantEnv {
					t.Errorf("[%s.%s.parameters] EnvironmentName = %q; want %q", env, cmd, got, wantEnv)
				}
				for k, v := range overrides {
					checkParameterValue(t, tpl, fmt.Sprintf("[%s.%s.parameters] %s", env, cmd, k), k, v)
				}
				if cmd == "deploy" {
					checkProfiles(t, tpl, wantEnv, overrides)
				}
			}
		})
	}
	if stacks["sandbox"] == stacks["production"] || stacks["default"] != stacks["sandbox"] {
		t.Errorf("stack names = %v; want default and sandbox the same, production different", stacks)
	}
}

// checkParameterValue reports a value template.yaml would refuse.
func checkParameterValue(t *testing.T, tpl map[string]any, where, name, value string) {
	t.Helper()
	p := getMap(tpl, "Parameters", name)
	if p == nil {
		t.Errorf("%s: template.yaml has no parameter %s", where, name)
		return
	}
	if allowed, ok := p["AllowedValues"].([]any); ok && !slices.Contains(strings1(allowed), value) {
		t.Errorf("%s = %q; want one of %v", where, value, allowed)
	}
	if pat, ok := p["AllowedPattern"].(string); ok && !regexp.MustCompile("^(?:"+pat+")$").MatchString(value) {
		t.Errorf("%s = %q; does not match AllowedPattern %q", where, value, pat)
	}
}

// checkProfiles loads the environment's bundled profiles document, as the
// rotator will, and reports what the stack deployed with these overrides
// would refuse or watch wrongly: a secret outside SecretsPrefix or a
// parameter outside TokenParameterPrefix (IAM denies them), a consumer
// profile that does not exist, a schedule that fires less often than the
// smallest refresh_before, a stalled-rotation threshold so close to it that
// a healthy run could trip the alarm, or an alarm period shorter than two
// schedule intervals (a period without a run counts as breaching).
func checkProfiles(t *testing.T, tpl map[string]any, env string, overrides map[string]string) {
	t.Helper()
	value := func(name string) string {
		if v, ok := overrides[name]; ok {
			return v
		}
		return fmt.Sprint(get(tpl, "Parameters", name, "Default"))
	}
	path := profilesDir + "/" + env + ".yaml"
	if _, err := os.Stat(path); os.IsNotExist(err) {
		t.Logf("%s does not exist yet; not cross-checked", path)
		return
	}
	prefix, secrets := value("TokenParameterPrefix"), value("SecretsPrefix")
	ps, err := profile.Load(path, profile.Options{ParameterPrefix: prefix})
	if err != nil {
		t.Fatalf("profile.Load(%q) = %v", path, err)
	}
	var names []string
	minRefresh := time.Duration(0)
	for _, p := range ps {
		names = append(names, p.Name)
		if minRefresh == 0 || p.RefreshBefore < minRefresh {
			minRefresh = p.RefreshBefore
		}
		secretName := p.SecretID
		if i := strings.Index(secretName, ":secret:"); strings.HasPrefix(secretName, "arn:") && i >= 0 {
			secretName = secretName[i+len(":secret:"):]
		}
		if !strings.HasPrefix(secretName, secrets) {
			t.Errorf("%s: profile %s secret_id %q is outside SecretsPrefix %q; the rotator may not read it", path, p.Name, p.SecretID, secrets)
		}
		if !strings.HasPrefix(p.Parameter, prefix+"/") {
			t.Errorf("%s: profile %s parameter %q is outside TokenParameterPrefix %q; the rotator may not write it", path, p.Name, p.Parameter, prefix)
		}
	}
	if c := value("ConsumerProfile"); !slices.Contains(names, c) {
		t.Errorf("ConsumerProfile %q for %s is not in %s (profiles: %v)", c, env, path, names)
	}
	if len(ps) == 0 {
		return
	}
	threshold, err := time.ParseDuration(value("ExpiryAlarmThresholdSeconds") + "s")
	if err != nil {
		t.Fatalf("ExpiryAlarmThresholdSeconds: %v", err)
	}
	// After a healthy run every token has at least its refresh_before left;
	// keep a minute for the time the run itself takes.
	if threshold > minRefresh-time.Minute {
		t.Errorf("%s: ExpiryAlarmThresholdSeconds = %v; want at most the smallest refresh_before (%v) minus a minute", env, threshold, minRefresh)
	}
	interval, ok := rateInterval(value("ScheduleExpression"))
	if !ok {
		return // cron(...): not checked
	}
	if interval >= minRefresh {
		t.Errorf("%s: ScheduleExpression %q fires every %v; want more often than the smallest refresh_before (%v)", env, value("ScheduleExpression"), interval, minRefresh)
	}
	period, err := time.ParseDuration(value("ExpiryAlarmPeriodSeconds") + "s")
	if err != nil {
		t.Fatalf("ExpiryAlarmPeriodSeconds: %v", err)
	}
	if period < 2*interval {
		t.Errorf("%s: ExpiryAlarmPeriodSeconds = %v; want at least two schedule intervals (%v)", env, period, 2*interval)
	}
}

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// rateInterval reads an EventBridge rate(...) expression.
func rateInterval(expr string) (time.Duration, bool) {
	m := rateExpr.FindStringSubmatch(expr)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit, true
}
