package functions_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

// credentialRules are the rotator's EventBridge rules for changed
// credentials, and the CredentialsChangeEvents value that enables each.
var credentialRules = map[string]bool{"CredentialsLabelUpdated": true, "CredentialsApiCall": true, "CredentialsRotated": true}

var credentialRuleFor = map[string]string{
	"SecretLabelUpdated": "CredentialsLabelUpdated",
	"CloudTrail":         "CredentialsApiCall CredentialsRotated",
	"None":               "",
}

// The stack the patterns are resolved for: the sample events' account and
// region, and SecretsPrefix's default.
var eventStack = map[string]string{"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}

// resolve replaces Ref and Fn::Sub in a parsed template value with vars.
func resolve(v any, vars map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		if _, intrinsic := x["Ref"]; intrinsic && len(x) == 1 {
			return expand(render(x), vars)
		}
		if _, intrinsic := x["Fn::Sub"]; intrinsic && len(x) == 1 {
			return expand(render(x), vars)
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolve(e, vars)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolve(e, vars)
		}
		return out
	}
	return v
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9:.]+)\}`)

func expand(s string, vars map[string]string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// TestCredentialRulesEnabledByParameter: CredentialsChangeEvents enables
// exactly one way of hearing of a new secret value (both would refresh
// twice), or none.
func TestCredentialRulesEnabledByParameter(t *testing.T) {
	tpl := loadTemplate(t)
	allowed, _ := get(tpl, "Parameters", "CredentialsChangeEvents", "AllowedValues").([]any)
	if len(allowed) != len(credentialRuleFor) {
		t.Fatalf("CredentialsChangeEvents.AllowedValues = %v; want %d values", allowed, len(credentialRuleFor))
	}
	events := getMap(tpl, "Resources", rotatorID, "Properties", "Events")
	for _, value := range allowed {
		var enabled []string
		for name := range credentialRules {
			state, _ := get(events, name, "Properties", "State").(map[string]any)
			branch, _ := state["Fn::If"].([]any)
			if len(branch) != 3 {
				t.Fatalf("%s.State = %v; want !If [condition, ENABLED, DISABLED]", name, state)
			}
			cond, _ := get(tpl, "Conditions", fmt.Sprint(branch[0]), "Fn::Equals").([]any)
			on := len(cond) == 2 && reflect.DeepEqual(cond[0], map[string]any{"Ref": "CredentialsChangeEvents"}) && cond[1] == value
			if want := map[bool]string{true: "ENABLED", false: "DISABLED"}[on]; branch[1] != "ENABLED" || branch[2] != "DISABLED" {
				t.Errorf("%s.State = %v; want ENABLED when its condition holds, else DISABLED (%s here)", name, branch, want)
			}
			if on {
				enabled = append(enabled, name)
			}
		}
		slices.Sort(enabled)
		if got, want := strings.Join(enabled, " "), credentialRuleFor[fmt.Sprint(value)]; got != want {
			t.Errorf("CredentialsChangeEvents=%v enables %q; want %q", value, got, want)
		}
	}
}

// TestCredentialRulesMatchOnlyTheirSecrets creates the template's three
// rules (patterns resolved for a stack in eu-west-1 with the default
// SecretsPrefix, oauth-clients/) in moto's EventBridge, each with an SQS
// queue as target, puts the sample events of events/ and variants of them,
// and reads which rule delivered which event: each rule delivers its own
// event for a secret under the prefix, named or by ARN, and nothing else.
func TestCredentialRulesMatchOnlyTheirSecrets(t *testing.T) {
	tpl := loadTemplate(t)
	vars := map[string]string{"SecretsPrefix": fmt.Sprint(get(tpl, "Parameters", "SecretsPrefix", "Default"))}
	for k, v := range eventStack {
		vars[k] = v
	}
	moto := mototest.Start(t)
	api := motoJSON{endpoint: moto.URL}
	queues := map[string]string{}
	for name := range credentialRules {
		pattern := resolve(get(tpl, "Resources", rotatorID, "Properties", "Events", name, "Properties", "Pattern"), vars)
		queues[name] = api.ruleToQueue(t, name, pattern)
	}

	sample := func(file string) map[string]any {
		var ev map[string]any
		if err := json.Unmarshal(readEventFile(t, file), &ev); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return ev
	}
	with := func(ev map[string]any, path string, v any) map[string]any {
		b, _ := json.Marshal(ev)
		var c map[string]any
		_ = json.Unmarshal(b, &c)
		keys := strings.Split(path, ".")
		m := c
		for _, k := range keys[:len(keys)-1] {
			m = m[k].(map[string]any)
		}
		m[keys[len(keys)-1]] = v
		return c
	}
	arn := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
	label, call, rotated := sample("secret-label-updated.json"), sample("cloudtrail-put-secret-value.json"), sample("cloudtrail-rotation-succeeded.json")
	cases := []struct {
		name  string
		event map[string]any
		want  string // the rule that must deliver it, "" for none
	}{
		{"Secret Label Updated, AWSCURRENT", label, "CredentialsLabelUpdated"},
		{"Secret Label Updated, a custom label", with(label, "detail.labelUpdated", "blue"), ""},
		{"Secret Label Updated, another prefix", with(label, "detail.name", "billing/db"), ""},
		{"Secret Label Updated, a prefix lookalike", with(label, "detail.name", "oauth-clients-old/aviv"), ""},
		{"PutSecretValue by name", call, "CredentialsApiCall"},
		{"PutSecretValue by full ARN", with(call, "detail.requestParameters.secretId", arn+"oauth-clients/aviv-sandbox-a1b2c3"), "CredentialsApiCall"},
		{"PutSecretValue by partial ARN", with(call, "detail.requestParameters.secretId", arn+"oauth-clients/aviv-sandbox"), "CredentialsApiCall"},
		{"UpdateSecret by name", with(call, "detail.eventName", "UpdateSecret"), "CredentialsApiCall"},
		{"PutSecretValue, another prefix", with(call, "detail.requestParameters.secretId", "billing/db"), ""},
		{"PutSecretValue, ARN of another prefix", with(call, "detail.requestParameters.secretId", arn+"billing/db-a1b2c3"), ""},
		{"PutSecretValue refused", with(call, "detail.errorCode", "AccessDenied"), ""},
		{"GetSecretValue", with(call, "detail.eventName", "GetSecretValue"), ""},
		{"RotationSucceeded", rotated, "CredentialsRotated"},
		{"RotationFailed", with(rotated, "detail.eventName", "RotationFailed"), ""},
		{"RotationSucceeded, another prefix", with(rotated, "detail.additionalEventData.SecretId", arn+"billing/db-a1b2c3"), ""},
		{"the schedule", sample("scheduled.json"), ""},
	}
	for _, c := range cases {
		api.putEvent(t, c.event)
		for rule, queue := range queues {
			got := api.receive(t, queue)
			if want := rule == c.want; (got == 1) != want || got > 1 {
				t.Errorf("%s: rule %s delivered it %d times; want %v", c.name, rule, got, map[bool]int{true: 1, false: 0}[want])
			}
		}
	}
}

func readEventFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// motoJSON calls moto's EventBridge and SQS JSON APIs, signed with dummy
// credentials (moto reads the service from the signature's scope).
type motoJSON struct{ endpoint string }

func (m motoJSON) call(t *testing.T, service, target string, in, out any) {
	t.Helper()
	body, _ := json.Marshal(in)
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if service == "sqs" {
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, mototest.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d: %s", target, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v: %s", target, err, b)
		}
	}
}

// ruleToQueue creates a rule with pattern and an SQS queue as its target,
// and returns the queue's URL.
func (m motoJSON) ruleToQueue(t *testing.T, name string, pattern any) string {
	t.Helper()
	var q struct{ QueueUrl string }
	m.call(t, "sqs", "AmazonSQS.CreateQueue", map[string]any{"QueueName": name}, &q)
	var attrs struct{ Attributes map[string]string }
	m.call(t, "sqs", "AmazonSQS.GetQueueAttributes", map[string]any{"QueueUrl": q.QueueUrl, "AttributeNames": []string{"QueueArn"}}, &attrs)
	p, _ := json.Marshal(pattern)
	m.call(t, "events", "AWSEvents.PutRule", map[string]any{"Name": name, "EventPattern": string(p), "State": "ENABLED"}, nil)
	m.call(t, "events", "AWSEvents.PutTargets", map[string]any{"Rule": name, "Targets": []any{map[string]any{"Id": "queue", "Arn": attrs.Attributes["QueueArn"]}}}, nil)
	return q.QueueUrl
}

// putEvent puts an event (as EventBridge would deliver it) on the bus.
func (m motoJSON) putEvent(t *testing.T, ev map[string]any) {
	t.Helper()
	detail, _ := json.Marshal(ev["detail"])
	entry := map[string]any{"Source": ev["source"], "DetailType": ev["detail-type"], "Detail": string(detail)}
	if r, ok := ev["resources"].([]any); ok && len(r) > 0 {
		entry["Resources"] = r
	}
	var out struct{ FailedEntryCount int }
	m.call(t, "events", "AWSEvents.PutEvents", map[string]any{"Entries": []any{entry}}, &out)
	if out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents(%s) failed", detail)
	}
}

// receive drains a queue and returns how many messages it held.
func (m motoJSON) receive(t *testing.T, queue string) int {
	t.Helper()
	n := 0
	for {
		var out struct {
			Messages []struct{ ReceiptHandle string }
		}
		m.call(t, "sqs", "AmazonSQS.ReceiveMessage", map[string]any{"QueueUrl": queue, "MaxNumberOfMessages": 10}, &out)
		if len(out.Messages) == 0 {
			return n
		}
		for _, msg := range out.Messages {
			n++
			m.call(t, "sqs", "AmazonSQS.DeleteMessage", map[string]any{"QueueUrl": queue, "ReceiptHandle": msg.ReceiptHandle}, nil)
		}
	}
}
