package functions_test

import (
	"fmt"
	"reflect"
)

// ruleAlarms: the four alarms watch the metric contract the rotator emits
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
		{"EarlyTokenRequests", ref("MetricsNamespace"), envDim, "GreaterThanThreshold", 0, "notBreaching"},
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
