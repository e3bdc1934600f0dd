package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/orgtest"
)

// OtherAccountFigures: the consumer bootstrap in a workload account reads
// the platform account's token through the reader role, and an account
// the stack does not list is refused.
type OtherAccountFigures struct {
	Role          string // the reader role, as template.yaml renders it
	Account       string // the workload account
	Invocations   int
	OK            int // answers with status 200
	AssumeRoles   int // sts:AssumeRole calls
	SSMReads      int // GetParameter calls
	TokenRequests int
	Outsider      string // the account not listed
	Refusal       string // the outsider's function error
}

// otherAccounts renders template.yaml with CrossAccountReaderAccounts set
// to the workload account, has mototest's proxy enforce the reader role it
// creates, and runs the consumer bootstrap in the workload account and in
// the outsider's, each in its own region with the rotator's as TOKEN_REGION.
func (d *demo) otherAccounts() error {
	f := &d.rep.OtherAccounts
	org, err := orgtest.New(d.opts.Root, d.proxy, map[string]string{"CrossAccountReaderAccounts": orgtest.Workload})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	f.Role, f.Account, f.Outsider = org.Reader.ARN, orgtest.Workload, orgtest.Outsider
	start := func(account, name string) (*lambdatest.Runtime, error) {
		creds, err := org.Credentials(d.ctx, account)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		d.credentials = append(d.credentials, creds)
		env := append(org.Env(creds, "eu-central-1"), "PROFILE="+d.opts.ConsumerProfile, "API_BASE_URL="+d.idp.APIURL(),
			"ENVIRONMENT=demo", "TOKEN_READER_ROLE_ARN="+org.Reader.ARN, "TOKEN_REGION="+mototest.Region)
		rt, err := lambdatest.Launch(d.ctx, d.consumerBin, env, lambdatest.WithFunctionName(name))
		if err != nil {
			return nil, fmt.Errorf("demo: start consumer in %s: %w", account, err)
		}
		d.others = append(d.others, rt)
		return rt, nil
	}
	rt, err := start(orgtest.Workload, "workload-consumer")
	if err != nil {
		return err
	}
	d.proxy.Reset()
	tokensBefore := d.idp.RequestCount()
	for range d.opts.ConsumerInvocations {
		status, err := d.callConsumer(rt)
		if err != nil {
			return err
		}
		f.Invocations++
		if status == 200 {
			f.OK++
		}
	}
	f.AssumeRoles, f.SSMReads = d.proxy.Count(mototest.OpAssumeRole), d.proxy.Count(mototest.OpGetParameter)
	f.TokenRequests = d.idp.RequestCount() - tokensBefore
	d.say("[7/7] consumers in other accounts: the platform stack rendered with CrossAccountReaderAccounts=%s creates %s", f.Account, f.Role)
	d.say("      consumer in account %s (region eu-central-1, TOKEN_REGION=%s), %d warm invocations: %d answered 200 | STS AssumeRole %d | SSM GetParameter %d | token requests %d",
		f.Account, mototest.Region, f.Invocations, f.OK, f.AssumeRoles, f.SSMReads, f.TokenRequests)

	out, err := start(orgtest.Outsider, "outsider-consumer")
	if err != nil {
		return err
	}
	event, err := os.ReadFile(filepath.Join(d.opts.Root, "events", "consumer.json"))
	if err != nil {
		return err
	}
	res, err := out.Invoke(d.ctx, event)
	if err != nil {
		return fmt.Errorf("demo: consumer in %s: %w", f.Outsider, err)
	}
	if res.Err != nil {
		f.Refusal = res.Err.ErrorMessage
	}
	d.say("      consumer in account %s (not listed) is refused:\n        %s", f.Outsider, wrap(f.Refusal, 110, "        "))
	return nil
}

// wrap breaks s into lines of at most width characters at spaces.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(s) {
		if i > 0 && line+1+len(w) > width {
			b.WriteString("\n" + indent)
			line = 0
		} else if i > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// credentialsSeen lists the pieces of the accounts' credentials the log
// scan looks for.
func (d *demo) credentialsSeen() []string {
	var out []string
	for _, c := range d.credentials {
		out = append(out, c.SecretAccessKey, c.SessionToken)
	}
	return out
}
