package cfntest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const sample = `
Parameters:
  Accounts: {Type: CommaDelimitedList, Default: "", AllowedPattern: '^$|^[0-9]{12}$'}
  Prefix: {Type: String, Default: /p}
Conditions:
  Has: !Not [!Equals [!Join ["", !Ref Accounts], ""]]
Resources:
  Always:
    Type: T
    Properties:
      Name: !Sub arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Prefix}/*
      Ref: !Ref Other
      Att: !GetAtt Other.Arn
      Keep: !If [Has, yes, !Ref AWS::NoValue]
      List: [a, !If [Has, !Ref AWS::NoValue, b], !Select [1, !Split [",", "x,y"]]]
      Literal: !Sub "${!Prefix} ${Other.Arn}"
  Sometimes:
    Type: T
    Condition: Has
    Properties:
      Who: !Ref Accounts
Outputs:
  Out:
    Condition: Has
    Value: !Join [",", !Ref Accounts]
`

func TestRender(t *testing.T) {
	tpl, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	s := Stack{Account: "123456789012", Region: "eu-west-1", StackName: "s"}
	empty, err := Render(tpl, s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Name":    "arn:aws:ssm:eu-west-1:123456789012:parameter/p/*",
		"Ref":     map[string]any{"Ref": "Other"},
		"Att":     map[string]any{"Fn::GetAtt": []any{"Other", "Arn"}},
		"List":    []any{"a", "b", "y"},
		"Literal": "${Prefix} ${Other.Arn}",
	}
	if got := asMap(asMap(asMap(empty["Resources"])["Always"])["Properties"]); !reflect.DeepEqual(got, want) {
		t.Errorf("Render(Accounts empty).Always = %#v; want %#v", got, want)
	}
	if _, ok := asMap(empty["Resources"])["Sometimes"]; ok || len(asMap(empty["Outputs"])) != 0 {
		t.Errorf("Render(Accounts empty) kept Sometimes or Out: %v", empty)
	}

	s.Params = map[string]string{"Accounts": "111111111111,222222222222"}
	set, err := Render(tpl, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := asMap(asMap(asMap(set["Resources"])["Sometimes"])["Properties"])["Who"]; !reflect.DeepEqual(got, []any{"111111111111", "222222222222"}) {
		t.Errorf("Sometimes.Who = %v; want both accounts", got)
	}
	if got := asMap(asMap(set["Outputs"])["Out"])["Value"]; got != "111111111111,222222222222" {
		t.Errorf("Out = %v", got)
	}

	for _, bad := range []map[string]string{{"Accounts": "1234"}, {"Nope": "x"}} {
		s.Params = bad
		if _, err := Render(tpl, s); err == nil {
			t.Errorf("Render(%v) = nil error; want the value refused", bad)
		}
	}
}

func TestRenderUnknownFunction(t *testing.T) {
	tpl, _ := Parse([]byte("Resources:\n  X:\n    Type: T\n    Properties:\n      V: !Base64 abc\n"))
	if _, err := Render(tpl, Stack{}); err == nil || !strings.Contains(err.Error(), "Fn::Base64") {
		t.Errorf("Render(!Base64) = %v; want an error naming Fn::Base64", err)
	}
}

// TestReaderRole renders the repository's own templates.
func TestReaderRole(t *testing.T) {
	s := Stack{Account: "123456789012", Region: "eu-west-1", StackName: "rot"}
	if _, ok, err := ReaderRole("../../..", s); err != nil || ok {
		t.Fatalf("ReaderRole(no readers) = ok %v, %v; want no role", ok, err)
	}
	s.Params = map[string]string{"CrossAccountReaderAccounts": "111111111111", "CrossAccountReaderProfiles": "aviv-*"}
	role, ok, err := ReaderRole("../../..", s)
	if err != nil || !ok {
		t.Fatalf("ReaderRole = ok %v, %v", ok, err)
	}
	var trust struct{ Statement []map[string]any }
	if err := json.Unmarshal(role.Trust, &trust); err != nil {
		t.Fatal(err)
	}
	if len(trust.Statement) != 1 || !reflect.DeepEqual(trust.Statement[0]["Principal"], map[string]any{"AWS": []any{"111111111111"}}) {
		t.Errorf("trust = %s; want one statement for account 111111111111", role.Trust)
	}
	if len(role.Policies) != 1 || !strings.Contains(string(role.Policies[0]), `"arn:aws:ssm:eu-west-1:123456789012:parameter/oauth-tokens/aviv-*"`) {
		t.Errorf("policies = %s; want GetParameter on /oauth-tokens/aviv-*", role.Policies)
	}
}
