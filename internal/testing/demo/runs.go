package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// rotatorRuns starts the rotator and invokes it twice on the schedule's
// event in one warm process.
func (d *demo) rotatorRuns() error {
	var err error
	d.rotator, err = lambdatest.Launch(d.ctx, d.rotatorBin, append(d.awsEnv, "PROFILES_FILE=profiles/sandbox.yaml", "ENVIRONMENT=demo"),
		lambdatest.WithFunctionName("oauth-token-rotator-demo-rotator"), lambdatest.WithTaskRoot(filepath.Dir(d.rotatorBin)), lambdatest.WithTimeout(60*time.Second))
	if err != nil {
		return fmt.Errorf("demo: start rotator: %w", err)
	}
	if d.scheduled, err = os.ReadFile(filepath.Join(d.opts.Root, "events", "scheduled.json")); err != nil {
		return err
	}
	if d.rep.FirstRun, err = d.runRotator(d.scheduled); err != nil {
		return err
	}
	d.rep.RotatorInit = d.rotator.InitDuration()
	if d.rep.SecondRun, err = d.runRotator(d.scheduled); err != nil {
		return err
	}
	d.say("[4/7] rotator, scheduled run 1: %s", d.rep.FirstRun)
	d.say("      rotator, scheduled run 2: %s", d.rep.SecondRun)
	return d.status()
}

// runRotator invokes the rotator once and counts what it did.
func (d *demo) runRotator(payload []byte) (RunFigures, error) {
	d.proxy.Reset()
	before := d.idp.RequestCount()
	res, err := d.rotator.Invoke(d.ctx, payload)
	if err != nil {
		return RunFigures{}, fmt.Errorf("demo: rotator: %w", err)
	}
	if res.Err != nil {
		return RunFigures{}, fmt.Errorf("demo: rotator answered an error: %s", res.Err.ErrorMessage)
	}
	var sum rotate.Summary
	if err := json.Unmarshal(res.Payload, &sum); err != nil {
		return RunFigures{}, fmt.Errorf("demo: rotator answer: %w", err)
	}
	c := d.proxy.Counts()
	return RunFigures{
		Refreshed: len(sum.Refreshed), Skipped: len(sum.Skipped), Failed: len(sum.Failed),
		TokenRequests: d.idp.RequestCount() - before, SecretReads: c[mototest.OpGetSecretValue],
		ParameterReads: c[mototest.OpGetParameters], ParameterWrites: c[mototest.OpPutParameter],
	}, nil
}

// consumerRuns starts the consumer; its warm invocations read the
// parameter once.
func (d *demo) consumerRuns() error {
	var err error
	d.consumer, err = lambdatest.Launch(d.ctx, d.consumerBin, append(d.awsEnv,
		"PROFILE="+d.opts.ConsumerProfile, "API_BASE_URL="+d.idp.APIURL(), "ENVIRONMENT=demo"),
		lambdatest.WithFunctionName("oauth-token-rotator-demo-consumer"))
	if err != nil {
		return fmt.Errorf("demo: start consumer: %w", err)
	}
	d.proxy.Reset()
	tokensBefore := d.idp.RequestCount()
	for i := 0; i < d.opts.ConsumerInvocations; i++ {
		status, err := d.callConsumer(d.consumer)
		if err != nil {
			return err
		}
		d.rep.Consumer.Invocations++
		if status == 200 {
			d.rep.Consumer.OK++
		}
	}
	d.rep.Consumer.SSMReads = d.proxy.Count(mototest.OpGetParameter)
	d.rep.Consumer.TokenRequests = d.idp.RequestCount() - tokensBefore
	d.say("[5/7] consumer (profile %s), %d warm invocations: %d answered 200 | SSM GetParameter %d | token requests %d",
		d.opts.ConsumerProfile, d.rep.Consumer.Invocations, d.rep.Consumer.OK, d.rep.Consumer.SSMReads, d.rep.Consumer.TokenRequests)
	return nil
}

func (d *demo) callConsumer(rt *lambdatest.Runtime) (int, error) {
	event, err := os.ReadFile(filepath.Join(d.opts.Root, "events", "consumer.json"))
	if err != nil {
		return 0, err
	}
	res, err := rt.Invoke(d.ctx, event)
	if err != nil {
		return 0, fmt.Errorf("demo: consumer: %w", err)
	}
	if res.Err != nil {
		return 0, fmt.Errorf("demo: consumer answered an error: %s", res.Err.ErrorMessage)
	}
	var ans struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal(res.Payload, &ans); err != nil {
		return 0, fmt.Errorf("demo: consumer answer: %w", err)
	}
	return ans.Status, nil
}

// revocation: the provider revokes the token the consumer holds; a forced
// refresh follows; the consumer's next call meets one 401, re-reads once
// and succeeds.
func (d *demo) revocation() error {
	held, err := storedToken(d.ctx, d.proxy.URL, tokenrecord.ParameterName("", d.opts.ConsumerProfile))
	if err != nil {
		return err
	}
	force, _ := json.Marshal(rotate.Request{Force: true, Profiles: []string{d.opts.ConsumerProfile}})
	tokensBefore := d.idp.RequestCount()
	if _, err := d.runRotator(force); err != nil {
		return err
	}
	d.idp.Revoke(held)
	d.proxy.Reset()
	apiBefore := d.idp.APICalls()
	if d.rep.Revocation.Status, err = d.callConsumer(d.consumer); err != nil {
		return err
	}
	d.rep.Revocation.APICalls = d.idp.APICalls() - apiBefore
	d.rep.Revocation.SSMReads = d.proxy.Count(mototest.OpGetParameter)
	d.rep.Revocation.TokenRequests = d.idp.RequestCount() - tokensBefore
	d.say("[6/7] provider revoked the consumer's token; forced rotator run made %d token request(s); consumer: %d partner-API calls (401, then retry), %d SSM read, answer %d",
		d.rep.Revocation.TokenRequests, d.rep.Revocation.APICalls, d.rep.Revocation.SSMReads, d.rep.Revocation.Status)
	return nil
}

// scanLogs scans every log line of every process for any piece of a
// client secret, the private key, a token or the other accounts' AWS
// credentials.
func (d *demo) scanLogs() error {
	logLines := []string{}
	for _, rt := range append([]*lambdatest.Runtime{d.rotator, d.consumer}, d.others...) {
		rt.Close()
		logLines = append(logLines, rt.Logs()...)
	}
	d.rep.LogLines = len(logLines)
	known := make([]string, 0, len(secrets)+1)
	for _, s := range secrets {
		known = append(known, s.secret)
	}
	known = append(known, leakcheck.PEMBody(d.okta.PEM))
	for _, i := range d.idp.IssuedTokens() {
		known = append(known, i.Token)
	}
	known = append(known, d.credentialsSeen()...)
	for _, l := range logLines {
		if piece, found := leakcheck.Find(l, known...); found {
			d.rep.Leaks++
			d.say("      LEAK (%q): %s", piece, l)
		}
	}
	d.say("      %d log lines from the functions; %d contain any 8-character piece of a client secret, private key, token or AWS credential", d.rep.LogLines, d.rep.Leaks)
	return nil
}

// storedToken reads a record's token straight from SSM.
func storedToken(ctx context.Context, endpoint, name string) (string, error) {
	rec, err := storedRecord(ctx, endpoint, name)
	return rec.AccessToken, err
}

// storedRecord reads a record straight from SSM.
func storedRecord(ctx context.Context, endpoint, name string) (tokenrecord.Record, error) {
	cfg, err := mototest.ConfigFor(ctx, endpoint)
	if err != nil {
		return tokenrecord.Record{}, err
	}
	out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return tokenrecord.Record{}, fmt.Errorf("demo: read %s: %w", name, err)
	}
	rec, err := tokenrecord.Parse([]byte(aws.ToString(out.Parameter.Value)))
	if err != nil {
		return tokenrecord.Record{}, fmt.Errorf("demo: %s: %w", name, err)
	}
	return rec, nil
}
