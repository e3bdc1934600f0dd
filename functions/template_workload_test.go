package functions_test

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/cfntest"
)

// functions/consumer.yaml, the example consumer of a workload account, and the
// samconfig.toml environment that deploys it.

const consumerTplPath = "consumer.yaml"

// TestConsumerTemplate: functions/consumer.yaml deploys the example consumer alone,
// built as template.yaml builds it, reading through the reader role: its
// only permission is sts:AssumeRole on that role.
func TestConsumerTemplate(t *testing.T) {
	tpl, err := cfntest.Load(consumerTplPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := resourcesOfType(tpl, "AWS::Serverless::Function"); !slices.Equal(got, []string{"ConsumerFunction"}) {
		t.Errorf("functions/consumer.yaml functions = %v; want ConsumerFunction alone", got)
	}
	if !reflect.DeepEqual(tpl["Globals"], loadTemplate(t)["Globals"]) {
		t.Errorf("functions/consumer.yaml Globals = %v; want template.yaml's", tpl["Globals"])
	}
	if _, hasDefault := getMap(tpl, "Parameters", "TokenReaderRoleArn")["Default"]; hasDefault {
		t.Error("functions/consumer.yaml TokenReaderRoleArn has a Default; it must be given")
	}
	fn := getMap(tpl, "Resources", "ConsumerFunction")
	if get(fn, "Metadata", "BuildMethod") != "makefile" || get(fn, "Properties", "CodeUri") != ".." {
		t.Errorf("ConsumerFunction builds with %v from %v; want makefile from . (the Makefile's build-ConsumerFunction)",
			get(fn, "Metadata", "BuildMethod"), get(fn, "Properties", "CodeUri"))
	}
	envs := getMap(fn, "Properties", "Environment", "Variables")
	for k, p := range map[string]string{"TOKEN_READER_ROLE_ARN": "TokenReaderRoleArn", "TOKEN_REGION": "TokenRegion",
		"PROFILE": "ConsumerProfile", "API_BASE_URL": "ConsumerApiBaseUrl", "TOKEN_PARAMETER_PREFIX": "TokenParameterPrefix"} {
		if got := render(envs[k]); got != "${"+p+"}" {
			t.Errorf("ConsumerFunction %s = %s; want ${%s}", k, got, p)
		}
	}
	stmts, problems := collectStatements(tpl)
	for _, p := range problems {
		t.Error(p)
	}
	want := []map[string]any{{"Sid": "AssumeTokenReaderRole", "Effect": "Allow", "Action": "sts:AssumeRole",
		"Resource": map[string]any{"Ref": "TokenReaderRoleArn"}}}
	var got []map[string]any
	for _, s := range stmts {
		got = append(got, s.doc)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("functions/consumer.yaml grants %v; want only %v", got, want)
	}
}

// TestSamconfigWorkload: samconfig.toml's workload environment deploys
// functions/consumer.yaml, built apart from the platform stack's build (so that a
// plain sam deploy never sends it to the platform stack), with overrides
// functions/consumer.yaml accepts and a profile the sandbox rotator serves.
func TestSamconfigWorkload(t *testing.T) {
	var cfg map[string]map[string]map[string]map[string]any
	if _, err := toml.DecodeFile(samconfigPath, &cfg); err != nil {
		t.Fatal(err)
	}
	w := cfg["workload"]
	build, deploy := w["build"]["parameters"], w["deploy"]["parameters"]
	if build["template_file"] != "functions/consumer.yaml" || w["validate"]["parameters"]["template_file"] != "functions/consumer.yaml" {
		t.Errorf("[workload.build/validate.parameters] template_file = %v, %v; want functions/consumer.yaml", build["template_file"], w["validate"]["parameters"]["template_file"])
	}
	dir, _ := build["build_dir"].(string)
	if dir == "" || strings.TrimSuffix(dir, "/") == ".aws-sam/build" || deploy["template_file"] != dir+"/template.yaml" {
		t.Errorf("[workload] build_dir = %q, deploy template_file = %v; want a build_dir of its own and its template.yaml deployed", dir, deploy["template_file"])
	}
	if deploy["stack_name"] == cfg["default"]["deploy"]["parameters"]["stack_name"] || deploy["stack_name"] == cfg["production"]["deploy"]["parameters"]["stack_name"] {
		t.Errorf("[workload.deploy.parameters] stack_name = %v; want a stack of its own", deploy["stack_name"])
	}
	if caps := fmt.Sprint(deploy["capabilities"]); !strings.Contains(caps, "CAPABILITY_IAM") {
		t.Errorf("[workload.deploy.parameters] capabilities = %s; want CAPABILITY_IAM", caps)
	}
	overrides, err := parseOverrides(fmt.Sprint(deploy["parameter_overrides"]))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := cfntest.Load(consumerTplPath)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range overrides {
		checkParameterValue(t, tpl, "[workload.deploy.parameters] "+k, k, v)
	}
	if overrides["TokenReaderRoleArn"] == "" {
		t.Error("[workload.deploy.parameters] sets no TokenReaderRoleArn")
	}
	ps, err := profile.Load(profilesDir+"/"+overrides["EnvironmentName"]+".yaml", profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ps, func(p profile.Profile) bool { return p.Name == overrides["ConsumerProfile"] }) {
		t.Errorf("[workload] ConsumerProfile %q is not a %s profile", overrides["ConsumerProfile"], overrides["EnvironmentName"])
	}
}

// TestTokenReaderRoleArnPattern: functions/consumer.yaml accepts the ARN of
// any role IAM can name (a name of 1 to 64 of its characters, after an
// optional path) and nothing longer: CloudFormation shortens the names it
// generates, such as the reader role's, to fit.
func TestTokenReaderRoleArnPattern(t *testing.T) {
	tpl, err := cfntest.Load(consumerTplPath)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("^(?:" + fmt.Sprint(get(tpl, "Parameters", "TokenReaderRoleArn", "AllowedPattern")) + ")$")
	const arn = "arn:aws:iam::123456789012:role/"
	for v, want := range map[string]bool{
		arn + strings.Repeat("r", 64):                       true,
		arn + "team/readers/" + strings.Repeat("r", 64):     true,
		arn + "oauth-token-rotator-sandbox-Cr-ReaderRole-A": true,
		arn + strings.Repeat("r", 65):                       false,
		arn + "team/readers/" + strings.Repeat("r", 65):     false,
		arn:                                     false,
		arn + "a/":                              false,
		"arn:aws:iam::123456789012:user/reader": false,
	} {
		if got := re.MatchString(v); got != want {
			t.Errorf("TokenReaderRoleArn %q: accepted %v; want %v", v, got, want)
		}
	}
}
