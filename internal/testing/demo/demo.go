package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

// Options configure a run. The zero value works from the module root.
type Options struct {
	// Out receives the report; nil means os.Stdout.
	Out io.Writer
	// Root is the module root (where functions/ lives); empty means the
	// current directory.
	Root string
	// ConsumerInvocations is how many warm invocations the consumer gets
	// (default 10).
	ConsumerInvocations int
	// ConsumerProfile is the profile the consumer uses (default
	// aviv-caas-sandbox-agency-42).
	ConsumerProfile string
}

// RunFigures are one rotator invocation's figures.
type RunFigures struct {
	Refreshed, Skipped, Failed int
	TokenRequests              int
	SecretReads                int
	ParameterReads             int // GetParameters calls
	ParameterWrites            int // PutParameter calls (records and leases)
}

// Report is what a demo run measured.
type Report struct {
	Profiles   int
	Secrets    int
	Auths      []string // the client authentication methods the profiles use
	FirstRun   RunFigures
	SecondRun  RunFigures
	Consumer   ConsumerFigures
	Revocation RevocationFigures
	Status     StatusFigures
	// OtherAccounts: a consumer in a workload account and an outsider.
	OtherAccounts OtherAccountFigures
	LogLines      int
	Leaks         int
	BuildTime     time.Duration
	Elapsed       time.Duration
	RotatorInit   time.Duration
}

// ConsumerFigures are the consumer's warm invocations.
type ConsumerFigures struct {
	Invocations   int
	OK            int // answers with status 200
	SSMReads      int // GetParameter calls
	TokenRequests int
}

// RevocationFigures: the provider revokes the token the consumer holds,
// the rotator is forced, and the consumer's next call meets one 401.
type RevocationFigures struct {
	Status        int // the consumer's answer
	APICalls      int // calls the partner API saw (401 then 200)
	SSMReads      int
	TokenRequests int // the forced refresh
}

// secrets seeded into moto and registered with the fake providers; the
// Okta client authenticates with a key generated per run instead.
var secrets = []struct{ id, clientID, secret string }{
	{"oauth-clients/aviv-sandbox", "demo-aviv-client", "Sx7Qp2Lm9Vb4Nc8Rd1Ke"},
	{"oauth-clients/pliant-staging", "demo-pliant-client", "Kd3Wr8Zn1Hy6Pg0Ta5Mu"},
	{"oauth-clients/partner-sandbox", "demo-partner-client", "Tf5Jc0Ue7Ga2Xb9Lw4Oq"},
	{"oauth-clients/cognito-orders", "demo-cognito-client", "Hv2Ny7Bq4Wd9Js1Cf6Rk"},
	{"oauth-clients/salesforce", "demo-salesforce-client", "Pz8Mg3Xt6Ka1Vy5Qe2Ln"},
}

// oktaSecret is the private_key_jwt client's secret id and client id.
const oktaSecret, oktaClient = "oauth-clients/okta-service", "demo-okta-client"

// examples are the sample profiles run beside sandbox.yaml, one per
// non-default client authentication or expiry the demo shows.
var examples = []struct{ file, profile string }{
	{"cognito.yaml", "cognito-orders"},    // client_secret_basic, form
	{"okta.yaml", "okta-users-read"},      // private_key_jwt
	{"salesforce.yaml", "salesforce-crm"}, // no expires_in: default_lifetime
}

// demo is one run's state: its options, the processes it started and the
// report so far.
type demo struct {
	ctx                     context.Context
	opts                    Options
	say                     func(format string, args ...any)
	work                    string
	rotatorBin, consumerBin string
	moto                    *mototest.Server
	proxy                   *mototest.Proxy
	idp                     *oauthtest.Server
	okta                    oauthtest.Key
	rotator                 *lambdatest.Runtime
	consumer                *lambdatest.Runtime
	others                  []*lambdatest.Runtime // consumers in other accounts
	credentials             []aws.Credentials     // theirs, for the log scan
	awsEnv                  []string
	scheduled               []byte
	rep                     Report
}

// Run performs the demo. It fails if anything the report claims is not so.
func Run(ctx context.Context, opts Options) (rep Report, err error) {
	start := time.Now()
	d := &demo{ctx: ctx, opts: opts.withDefaults()}
	out := d.opts.Out
	d.say = func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	d.say("oauth-token-rotator demo: moto_server for AWS, local token endpoints, the real Lambda binaries")
	if d.work, err = os.MkdirTemp("", "oauth-token-rotator-demo-"); err != nil {
		return d.rep, err
	}
	defer os.RemoveAll(d.work)
	defer d.close()
	for _, step := range []func() error{d.build, d.startLocal, d.seed, d.rotatorRuns, d.consumerRuns, d.revocation, d.otherAccounts, d.scanLogs} {
		if err := step(); err != nil {
			return d.rep, err
		}
	}
	if err := d.rep.check(); err != nil {
		return d.rep, err
	}
	d.rep.Elapsed = time.Since(start)
	d.say("")
	d.say("OK: one token request per profile (client_secret_post, client_secret_basic, private_key_jwt; expiry from expires_in, a JWT exp or default_lifetime), none on the second run; status listed every profile without a token request or secret read; %d consumer invocations read SSM once and requested no token; a revoked token was replaced after one 401; a consumer in account %s read it through the reader role with no token request, and account %s was refused (%.1fs in all).",
		d.rep.Consumer.Invocations, d.rep.OtherAccounts.Account, d.rep.OtherAccounts.Outsider, d.rep.Elapsed.Seconds())
	return d.rep, nil
}

func (o Options) withDefaults() Options {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.ConsumerInvocations <= 0 {
		o.ConsumerInvocations = 10
	}
	if o.ConsumerProfile == "" {
		o.ConsumerProfile = "aviv-caas-sandbox-agency-42"
	}
	if o.Root == "" {
		o.Root = "."
	}
	return o
}

// close stops every process the run started.
func (d *demo) close() {
	for _, p := range append([]*lambdatest.Runtime{d.consumer, d.rotator}, d.others...) {
		if p != nil {
			p.Close()
		}
	}
	if d.idp != nil {
		d.idp.Close()
	}
	if d.proxy != nil {
		d.proxy.Close()
	}
	if d.moto != nil {
		d.moto.Close()
	}
}

// String is the figures on one line.
func (f RunFigures) String() string {
	return fmt.Sprintf("refreshed %d, skipped %d, failed %d | token requests %d | secret reads %d | SSM GetParameters %d, PutParameter %d",
		f.Refreshed, f.Skipped, f.Failed, f.TokenRequests, f.SecretReads, f.ParameterReads, f.ParameterWrites)
}

// check verifies the claims the report makes.
func (r Report) check() error {
	var errs []error
	want := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	want(r.FirstRun.Refreshed == r.Profiles && r.FirstRun.TokenRequests == r.Profiles && r.FirstRun.Failed == 0,
		"first run: %s; want every one of %d profiles refreshed with one token request each", r.FirstRun, r.Profiles)
	want(r.FirstRun.SecretReads == r.Secrets, "first run read %d secrets; want each of %d once", r.FirstRun.SecretReads, r.Secrets)
	want(r.SecondRun.Skipped == r.Profiles && r.SecondRun.TokenRequests == 0 && r.SecondRun.SecretReads == 0,
		"second run: %s; want everything skipped with no token request and no secret read", r.SecondRun)
	want(r.Consumer.OK == r.Consumer.Invocations && r.Consumer.SSMReads == 1 && r.Consumer.TokenRequests == 0,
		"consumer: %+v; want every answer 200 from one SSM read and no token request", r.Consumer)
	want(r.Revocation.Status == 200 && r.Revocation.APICalls == 2 && r.Revocation.SSMReads == 1 && r.Revocation.TokenRequests == 1,
		"revocation: %+v; want 200 after one 401 and one re-read, from one forced token request", r.Revocation)
	want(r.Status.Rows == r.Profiles && r.Status.Correct == r.Profiles && r.Status.OK == r.Profiles && r.Status.GetParameters == (r.Profiles+1+9)/10 &&
		r.Status.OtherCalls == 0 && r.Status.TokenRequests == 0 && r.Status.Leaks == 0,
		"status: %+v; want %d correct rows, all ok, from ceil((%d+1)/10) GetParameters calls and no other call, token request or leak", r.Status, r.Profiles, r.Profiles)
	o := r.OtherAccounts
	want(o.OK == o.Invocations && o.Invocations > 0 && o.AssumeRoles == 1 && o.SSMReads == 1 && o.TokenRequests == 0,
		"consumer in another account: %+v; want every answer 200 from one AssumeRole and one SSM read, and no token request", o)
	want(strings.Contains(o.Refusal, o.Role) && strings.Contains(o.Refusal, "CrossAccountReaderAccounts"),
		"the outsider's error %q does not name the role and CrossAccountReaderAccounts", o.Refusal)
	want(r.Leaks == 0, "%d log lines contain a piece of a secret, token or credential", r.Leaks)
	return errors.Join(errs...)
}
