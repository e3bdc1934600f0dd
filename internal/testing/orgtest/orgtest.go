package orgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/cfntest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

// The accounts and the organization.
const (
	// Platform is the rotator's account (moto's default account).
	Platform = mototest.DefaultAccount
	// Workload is an account of the organization, under OU WorkloadOU.
	Workload = "111111111111"
	// Outsider is an account of another organization.
	Outsider = "222222222222"
	// OrgID is the organization of Platform and Workload.
	OrgID = "o-a1b2c3d4e5"
	// WorkloadPath is Workload's organization path.
	WorkloadPath = OrgID + "/r-ab12/ou-ab12-11111111/"
	// WorkloadRole names the role whose sessions act for an account.
	WorkloadRole = "workload-consumer"
	// StackName is the platform stack's name in the rendering.
	StackName = "oauth-token-rotator-test"
)

// Org is a set-up organization.
type Org struct {
	// Reader is the platform stack's reader role, as rendered and enforced.
	Reader cfntest.Role
	proxy  *mototest.Proxy
}

// New renders root/template.yaml with params, enforces its reader role
// on proxy, and places the accounts. It fails when params create no
// reader role.
func New(root string, proxy *mototest.Proxy, params map[string]string) (Org, error) {
	role, ok, err := cfntest.ReaderRole(root, cfntest.Stack{
		Params: params, Account: Platform, Region: mototest.Region, StackName: StackName,
	})
	if err != nil {
		return Org{}, err
	}
	if !ok {
		return Org{}, fmt.Errorf("orgtest: template.yaml with %v creates no reader role", params)
	}
	if err := proxy.EnforceRole(mototest.Role{ARN: role.ARN, Trust: role.Trust, Policies: role.Policies}); err != nil {
		return Org{}, err
	}
	proxy.PlaceAccount(Platform, mototest.Placement{OrgID: OrgID, Path: OrgID + "/r-ab12/"})
	proxy.PlaceAccount(Workload, mototest.Placement{OrgID: OrgID, Path: WorkloadPath})
	proxy.PlaceAccount(Outsider, mototest.Placement{OrgID: "o-zzzzzzzzzz", Path: "o-zzzzzzzzzz/r-zz99/"})
	return Org{Reader: role, proxy: proxy}, nil
}

// Setup is New for a test, with template.yaml found above its directory.
func Setup(tb testing.TB, proxy *mototest.Proxy, params map[string]string) Org {
	tb.Helper()
	o, err := New(RepoRoot(tb), proxy, params)
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

// Credentials returns credentials of a principal of account: a session of
// its WorkloadRole, assumed through the proxy with EnvFor's keys.
func (o Org) Credentials(ctx context.Context, account string) (aws.Credentials, error) {
	cfg, err := mototest.ConfigFor(ctx, o.proxy.URL)
	if err != nil {
		return aws.Credentials{}, err
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", account, WorkloadRole)),
		RoleSessionName: aws.String("orgtest"),
	})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("orgtest: a principal of %s: %w", account, err)
	}
	c := out.Credentials
	return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), Source: "orgtest"}, nil
}

// MustCredentials is Credentials that fails the test on error.
func (o Org) MustCredentials(tb testing.TB, account string) aws.Credentials {
	tb.Helper()
	c, err := o.Credentials(context.Background(), account)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Env returns the environment of a process of account: the emulator's
// endpoint (the proxy) and c, in region.
func (o Org) Env(c aws.Credentials, region string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + o.proxy.URL,
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + c.SessionToken,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// RepoRoot finds the module root (where template.yaml is) above the
// working directory.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "template.yaml")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("orgtest: no template.yaml above the working directory")
		}
		dir = parent
	}
}
