package functions_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/cfntest"
)

// Consumers in other accounts: template.yaml's CrossAccountReader*
// parameters, the functions/reader-role.yaml stack they nest, and functions/consumer.yaml,
// the example consumer of a workload account. What these tests check on
// the templates, the behaviour tests against moto cannot: that the feature
// changes nothing when off, the KMS grant (moto's SSM calls no KMS) and
// the workload consumer's own policy (moto keeps no IAM of the workload
// account). Who may assume the role and what it may read are also tested
// on behaviour, with these very policies rendered and enforced
// (pkg/tokencache/crossaccount_test.go, package orgtest).

const (
	readerRolePath   = "reader-role.yaml"
	crossAccountID   = cfntest.ReaderStackID
	crossAccountOut  = "CrossAccountReaderRoleArn"
	crossAccountCond = "HasCrossAccountReaders"
)

var testStack = cfntest.Stack{Account: "123456789012", Region: "eu-west-1", StackName: "oauth-token-rotator-sandbox"}

func renderWith(t *testing.T, path string, params map[string]string) map[string]any {
	t.Helper()
	tpl, err := cfntest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := testStack
	s.Params = params
	out, err := cfntest.Render(tpl, s)
	if err != nil {
		t.Fatalf("render %s with %v: %v", path, params, err)
	}
	return out
}

// TestCrossAccountOffChangesNothing: with the CrossAccountReader*
// parameters at their defaults, as every existing stack deploys them,
// nothing cross-account is created; set, the nested stack and its output
// are all that is added, and every other resource and output is exactly
// what it is with them off.
func TestCrossAccountOffChangesNothing(t *testing.T) {
	for p, want := range map[string]any{"CrossAccountReaderAccounts": "", "CrossAccountReaderOrgId": "",
		"CrossAccountReaderOrgPaths": "", "CrossAccountReaderProfiles": "*"} {
		if got := get(loadTemplate(t), "Parameters", p, "Default"); got != want {
			t.Errorf("Parameters.%s.Default = %#v; want %#v", p, got, want)
		}
	}
	off := renderWith(t, templatePath, nil)
	for _, section := range []string{"Resources", "Outputs"} {
		for id := range getMap(off, section) {
			if strings.Contains(id, "CrossAccount") {
				t.Errorf("with the defaults, %s holds %s", section, id)
			}
		}
	}
	for _, params := range []map[string]string{
		{"CrossAccountReaderAccounts": "111111111111,222222222222"},
		{"CrossAccountReaderOrgId": "o-a1b2c3d4e5", "CrossAccountReaderProfiles": "aviv-*"},
		{"CrossAccountReaderOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"},
	} {
		on := renderWith(t, templatePath, params)
		for section, added := range map[string]string{"Resources": crossAccountID, "Outputs": crossAccountOut} {
			onSec, offSec := getMap(on, section), getMap(off, section)
			if onSec[added] == nil {
				t.Errorf("with %v, %s has no %s", params, section, added)
			}
			for id, v := range onSec {
				if id != added && !reflect.DeepEqual(v, offSec[id]) {
					t.Errorf("with %v, %s.%s differs from the stack without readers", params, section, id)
				}
			}
			if len(onSec) != len(offSec)+1 {
				t.Errorf("with %v, %s has %d entries; want the %d without readers and %s", params, section, len(onSec), len(offSec), added)
			}
		}
	}
	// Nothing but the nested stack and its output may even mention the
	// new parameters or their condition.
	tpl := loadTemplate(t)
	for _, section := range []string{"Resources", "Outputs"} {
		for id, v := range getMap(tpl, section) {
			if id == crossAccountID || id == crossAccountOut {
				continue
			}
			if s := render(deepString(v)); strings.Contains(s, "CrossAccountReader") || strings.Contains(s, crossAccountCond) {
				t.Errorf("%s.%s refers to the cross-account parameters; only %s and %s may", section, id, crossAccountID, crossAccountOut)
			}
		}
	}
}

// deepString flattens a template value into one string for a search.
func deepString(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, it := range x {
				b.WriteString(k + " ")
				walk(it)
			}
		case []any:
			for _, it := range x {
				walk(it)
			}
		default:
			b.WriteString(render(x) + " ")
		}
	}
	walk(v)
	return b.String()
}

// TestCrossAccountNestedStack: the nested stack gets the rotator's prefix
// and key and the readers, and its output is the role's ARN.
func TestCrossAccountNestedStack(t *testing.T) {
	on := renderWith(t, templatePath, map[string]string{"CrossAccountReaderAccounts": "111111111111", "KmsKeyId": kmsKey,
		"TokenParameterPrefix": "/team/tokens", "CrossAccountReaderProfiles": "aviv-*"})
	stack := getMap(on, "Resources", crossAccountID)
	if stack["Type"] != "AWS::CloudFormation::Stack" || get(stack, "Properties", "TemplateURL") != "functions/reader-role.yaml" {
		t.Fatalf("%s = %v; want an AWS::CloudFormation::Stack of functions/reader-role.yaml", crossAccountID, stack)
	}
	want := map[string]any{"TokenParameterPrefix": "/team/tokens", "KmsKeyId": kmsKey, "ReaderAccounts": "111111111111",
		"ReaderOrgId": "", "ReaderOrgPaths": "", "ReaderProfiles": "aviv-*"}
	if got := getMap(stack, "Properties", "Parameters"); !reflect.DeepEqual(got, want) {
		t.Errorf("%s parameters = %v; want %v", crossAccountID, got, want)
	}
	child, err := cfntest.Load(readerRolePath)
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		if getMap(child, "Parameters", p) == nil {
			t.Errorf("functions/reader-role.yaml has no parameter %s", p)
		}
	}
	if got := render(get(on, "Outputs", crossAccountOut, "Value")); got != "${CrossAccountReaders.Outputs.ReaderRoleArn}" {
		t.Errorf("%s = %s; want the nested stack's ReaderRoleArn", crossAccountOut, got)
	}
	if got := render(get(child, "Outputs", "ReaderRoleArn", "Value")); got != "${ReaderRole.Arn}" {
		t.Errorf("functions/reader-role.yaml ReaderRoleArn = %s; want ${ReaderRole.Arn}", got)
	}
}

const kmsKey = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// readerStatements renders functions/reader-role.yaml and returns its trust and
// permission statements.
func readerStatements(t *testing.T, params map[string]string) (trust, perms []map[string]any) {
	t.Helper()
	role := getMap(renderWith(t, readerRolePath, params), "Resources", cfntest.ReaderRoleID, "Properties")
	for _, s := range get(role, "AssumeRolePolicyDocument", "Statement").([]any) {
		trust = append(trust, s.(map[string]any))
	}
	policies, _ := role["Policies"].([]any)
	if len(policies) != 1 {
		t.Fatalf("reader role has %d inline policies; want 1", len(policies))
	}
	for _, s := range get(policies[0], "PolicyDocument", "Statement").([]any) {
		perms = append(perms, s.(map[string]any))
	}
	return trust, perms
}

// TestReaderRoleTrust: each kind of reader is one statement allowing
// sts:AssumeRole and nothing else; a Principal "*" always carries the
// organization condition.
func TestReaderRoleTrust(t *testing.T) {
	cases := []struct {
		params map[string]string
		want   []map[string]any
	}{
		{map[string]string{"ReaderAccounts": "111111111111,222222222222"}, []map[string]any{{"Sid": "ListedAccounts", "Effect": "Allow",
			"Principal": map[string]any{"AWS": []any{"111111111111", "222222222222"}}, "Action": "sts:AssumeRole"}}},
		{map[string]string{"ReaderOrgId": "o-a1b2c3d4e5"}, []map[string]any{{"Sid": "Organization", "Effect": "Allow",
			"Principal": map[string]any{"AWS": "*"}, "Action": "sts:AssumeRole",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}}},
		{map[string]string{"ReaderOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}, []map[string]any{{"Sid": "OrganizationalUnits", "Effect": "Allow",
			"Principal": map[string]any{"AWS": "*"}, "Action": "sts:AssumeRole",
			"Condition": map[string]any{"ForAnyValue:StringLike": map[string]any{"aws:PrincipalOrgPaths": []any{"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}}}}}},
	}
	for _, c := range cases {
		trust, _ := readerStatements(t, c.params)
		if !reflect.DeepEqual(trust, c.want) {
			t.Errorf("trust with %v = %v; want %v", c.params, trust, c.want)
		}
	}
	all, _ := readerStatements(t, map[string]string{"ReaderAccounts": "111111111111", "ReaderOrgId": "o-a1b2c3d4e5",
		"ReaderOrgPaths": "o-a1b2c3d4e5/r-ab12/*"})
	for _, s := range all {
		if get(s, "Principal", "AWS") == "*" && s["Condition"] == nil {
			t.Errorf("trust statement %v lets any AWS principal assume the role", s)
		}
	}
	if len(all) != 3 {
		t.Errorf("trust with all three readers has %d statements; want 3", len(all))
	}
	if getMap(loadReaderRole(t), "Rules", "SomeoneMayRead") == nil {
		t.Error("functions/reader-role.yaml has no rule refusing a deployment without readers")
	}
}

func loadReaderRole(t *testing.T) map[string]any {
	t.Helper()
	tpl, err := cfntest.Load(readerRolePath)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestReaderRolePermissions: GetParameter on the records the profiles
// pattern names, never on a lease or the rotator's failure record (its
// name is rotate.FailureRecord's); kms:Decrypt of the records' key only
// through SSM and only with a customer managed key.
func TestReaderRolePermissions(t *testing.T) {
	const records = "arn:aws:ssm:eu-west-1:123456789012:parameter/team/tokens/aviv-*"
	for _, key := range []string{"", kmsKey} {
		_, perms := readerStatements(t, map[string]string{"ReaderAccounts": "111111111111", "TokenParameterPrefix": "/team/tokens",
			"ReaderProfiles": "aviv-*", "KmsKeyId": key})
		want := []map[string]any{
			{"Sid": "ReadTokenRecords", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": records},
			{"Sid": "NeverTheLeases", "Effect": "Deny", "Action": "ssm:*", "Resource": "arn:aws:ssm:eu-west-1:123456789012:parameter/team/tokens/*.lock"},
			{"Sid": "NeverTheFailureRecord", "Effect": "Deny", "Action": "ssm:*", "Resource": "arn:aws:ssm:eu-west-1:123456789012:parameter" + rotate.FailureRecord("/team/tokens")},
		}
		if key != "" {
			want = append(want, map[string]any{"Sid": "DecryptTokenRecordsThroughSSM", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kmsKey,
				"Condition": map[string]any{
					"StringEquals": map[string]any{"kms:ViaService": "ssm.eu-west-1.amazonaws.com"},
					"StringLike":   map[string]any{"kms:EncryptionContext:PARAMETER_ARN": records},
				}})
		}
		if !reflect.DeepEqual(perms, want) {
			t.Errorf("permissions with KmsKeyId %q = %v; want %v", key, perms, want)
		}
	}
}

// TestCrossAccountParameterPatterns: the values that would widen the role
// are refused at deploy.
func TestCrossAccountParameterPatterns(t *testing.T) {
	tpl, child := loadTemplate(t), loadReaderRole(t)
	cases := []struct {
		param          string
		accept, refuse []string
	}{
		{"CrossAccountReaderAccounts", []string{"", "111111111111"}, []string{"*", "11111111111", "arn:aws:iam::111111111111:root"}},
		{"CrossAccountReaderOrgId", []string{"", "o-a1b2c3d4e5"}, []string{"*", "o-*", "r-ab12"}},
		{"CrossAccountReaderOrgPaths", []string{"", "o-a1b2c3d4e5/r-ab12/*", "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"},
			[]string{"*", "o-a1b2c3d4e5/*", "o-*/r-ab12/*"}},
		{"CrossAccountReaderProfiles", []string{"*", "aviv-*", "pliant-production", "p?"}, []string{"", "../x", "a/b", "*/*"}},
	}
	nested := map[string]string{"CrossAccountReaderAccounts": "ReaderAccounts", "CrossAccountReaderOrgId": "ReaderOrgId",
		"CrossAccountReaderOrgPaths": "ReaderOrgPaths", "CrossAccountReaderProfiles": "ReaderProfiles"}
	for _, c := range cases {
		for _, decl := range []map[string]any{getMap(tpl, "Parameters", c.param), getMap(child, "Parameters", nested[c.param])} {
			re := regexp.MustCompile("^(?:" + decl["AllowedPattern"].(string) + ")$")
			for _, v := range c.accept {
				if !re.MatchString(v) {
					t.Errorf("%s: AllowedPattern refuses %q", c.param, v)
				}
			}
			for _, v := range c.refuse {
				if re.MatchString(v) {
					t.Errorf("%s: AllowedPattern accepts %q", c.param, v)
				}
			}
		}
	}
}
