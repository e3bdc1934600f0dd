package mototest

import (
	"strings"
	"testing"
)

func TestEvaluateTrust(t *testing.T) {
	const trust = `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":{"AWS":["111111111111","arn:aws:iam::333333333333:root","arn:aws:iam::444444444444:role/app"]},"Action":"sts:AssumeRole"},
	  {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}},
	  {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":["o-zzzzzzzzzz/r-zz99/ou-zz99-11111111/*"]}}}]}`
	session := func(account, role string) identity {
		return identity{Account: account, ARN: "arn:aws:sts::" + account + ":assumed-role/" + role + "/s", RoleARN: "arn:aws:iam::" + account + ":role/" + role}
	}
	cases := []struct {
		name   string
		caller identity
		ctx    map[string][]string
		want   decision
	}{
		{"a listed account ID", session("111111111111", "any"), nil, allowed},
		{"a listed account's root ARN", session("333333333333", "any"), nil, allowed},
		{"a listed role", session("444444444444", "app"), nil, allowed},
		{"another role of that account", session("444444444444", "other"), nil, neutral},
		{"an unlisted account", session("222222222222", "any"), nil, neutral},
		{"the organization", session("555555555555", "any"), map[string][]string{"aws:principalorgid": {"o-a1b2c3d4e5"}}, allowed},
		{"another organization", session("555555555555", "any"), map[string][]string{"aws:principalorgid": {"o-other00000"}}, neutral},
		{"no organization at all", session("555555555555", "any"), nil, neutral},
		{"under the OU", session("666666666666", "any"), map[string][]string{"aws:principalorgpaths": {"o-zzzzzzzzzz/r-zz99/ou-zz99-11111111/ou-zz99-22222222/"}}, allowed},
		{"beside the OU", session("666666666666", "any"), map[string][]string{"aws:principalorgpaths": {"o-zzzzzzzzzz/r-zz99/ou-zz99-99999999/"}}, neutral},
	}
	for _, c := range cases {
		got, err := evaluate([][]byte{[]byte(trust)}, evalRequest{action: "sts:AssumeRole", caller: c.caller, context: c.ctx})
		if err != nil || got != c.want {
			t.Errorf("%s: evaluate = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if got, _ := evaluate([][]byte{[]byte(trust)}, evalRequest{action: "sts:TagSession", caller: session("111111111111", "x")}); got != neutral {
		t.Errorf("sts:TagSession = %v; want neutral (only AssumeRole is allowed)", got)
	}
}

func TestEvaluatePermissions(t *testing.T) {
	const policy = `{"Statement":[
	  {"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:us-east-1:123456789012:parameter/oauth-tokens/aviv-*"},
	  {"Effect":"Deny","Action":"ssm:*","Resource":"arn:aws:ssm:us-east-1:123456789012:parameter/oauth-tokens/*.lock"}]}`
	arn := func(name string) string { return "arn:aws:ssm:us-east-1:123456789012:parameter/oauth-tokens/" + name }
	cases := []struct {
		action, resource string
		want             decision
	}{
		{"ssm:GetParameter", arn("aviv-leads"), allowed},
		{"SSM:getparameter", arn("aviv-leads"), allowed}, // actions ignore case
		{"ssm:GetParameter", arn("AVIV-leads"), neutral}, // resources do not
		{"ssm:GetParameter", arn("pliant-production"), neutral},
		{"ssm:GetParameter", arn("aviv-leads.lock"), denied},
		{"ssm:GetParameters", arn("aviv-leads"), neutral},
		{"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/oauth-tokens/aviv-leads", neutral},
	}
	for _, c := range cases {
		got, err := evaluate([][]byte{[]byte(policy)}, evalRequest{action: c.action, resource: c.resource})
		if err != nil || got != c.want {
			t.Errorf("evaluate(%s on %s) = %v, %v; want %v", c.action, c.resource, got, err, c.want)
		}
	}
}

// TestEvaluateRefusesWhatItCannotModel: an operator or element it does not
// know is an error, never a silent answer.
func TestEvaluateRefusesWhatItCannotModel(t *testing.T) {
	for doc, resource := range map[string]string{
		`{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"*"},"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`: "",
		`{"Statement":[{"Effect":"Allow","Resource":"*"}]}`:                 "*",
		`{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`:    "*",
		`{"Statement":[{"Effect":"Allow","Action":"*","Principal":["*"]}]}`: "",
	} {
		if _, err := evaluate([][]byte{[]byte(doc)}, evalRequest{action: "sts:AssumeRole", resource: resource}); err == nil {
			t.Errorf("evaluate(%s) = nil error; want one", doc)
		}
	}
}

// TestRefusalInAWSWords: the proxy answers as STS (XML, 403) and SSM
// (JSON AccessDeniedException) do.
func TestRefusalInAWSWords(t *testing.T) {
	p := &Proxy{}
	caller := identity{Account: "222222222222", ARN: "arn:aws:sts::222222222222:assumed-role/app/s"}
	r := p.check([][]byte{[]byte(`{"Statement":[]}`)}, evalRequest{action: "sts:AssumeRole", caller: caller}, "arn:aws:iam::123456789012:role/reader", true)
	if r == nil || !r.query || r.message != "User: arn:aws:sts::222222222222:assumed-role/app/s is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/reader" {
		t.Errorf("trust refusal = %+v", r)
	}
	r = p.check([][]byte{[]byte(`{"Statement":[{"Effect":"Deny","Action":"ssm:*","Resource":"*"}]}`)},
		evalRequest{action: "ssm:GetParameter", resource: "arn:x", caller: caller}, "arn:x", false)
	if r == nil || r.query || !strings.HasSuffix(r.message, "with an explicit deny in an identity-based policy") {
		t.Errorf("permission refusal = %+v", r)
	}
	if got := p.Refusals(); len(got) != 2 {
		t.Errorf("Refusals() = %q; want both", got)
	}
}
