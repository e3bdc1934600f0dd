package functions_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

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
	// as it can (internal/rotate's write budget; internal/testing/perf's first-fill
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
		case credentialRules[name] && get(ev, "Type") == "EventBridgeRule":
			continue // template_events_test.go checks them against moto's EventBridge
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
			"SSL_CERT_FILE": map[string]any{"Fn::If": []any{"HasCABundle",
				map[string]any{"Fn::Sub": "/var/task/${TokenEndpointCABundle}"}, ref("AWS::NoValue")}},
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
