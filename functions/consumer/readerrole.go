package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// readerRole is where the records are when they are not this function's
// own account and region: a rotator in another account of the
// organization, read through the reader role its stack creates.
type readerRole struct {
	// ARN is the rotator stack's CrossAccountReaderRoleArn output
	// (TOKEN_READER_ROLE_ARN, optional): the records are read with that
	// role's credentials. Empty reads with the execution role's.
	ARN string
	// Region is the rotator's region (TOKEN_REGION, optional). Empty is
	// the function's own (AWS_REGION).
	Region string
}

// The reader role's sessions: as long as the role allows (functions/reader-role.yaml
// sets MaxSessionDuration to an hour), replaced five minutes before they
// expire.
const (
	readerSessionDuration = time.Hour
	readerExpiryWindow    = 5 * time.Minute
)

var (
	roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
)

// readerRoleFromEnv reads TOKEN_READER_ROLE_ARN and TOKEN_REGION, each
// error naming its variable.
func readerRoleFromEnv(getenv func(string) string) (readerRole, error) {
	r := readerRole{ARN: strings.TrimSpace(getenv("TOKEN_READER_ROLE_ARN")), Region: strings.TrimSpace(getenv("TOKEN_REGION"))}
	var errs []error
	if r.ARN != "" && !roleARNPattern.MatchString(r.ARN) {
		errs = append(errs, fmt.Errorf("consumer: TOKEN_READER_ROLE_ARN %q is not an IAM role ARN such as "+
			"arn:aws:iam::123456789012:role/name: set it to the rotator stack's CrossAccountReaderRoleArn output", r.ARN))
	}
	if r.Region != "" && !regionPattern.MatchString(r.Region) {
		errs = append(errs, fmt.Errorf("consumer: TOKEN_REGION %q is not a region such as eu-west-1: set it to the rotator stack's region", r.Region))
	}
	return r, errors.Join(errs...)
}

// ssmClient returns the client the cache reads with: cfg's, or, with a
// reader role, one whose credentials are that role's sessions (assumed
// with cfg's credentials, named session, cached and replaced before they
// expire), in the rotator's region.
func (r readerRole) ssmClient(cfg aws.Config, session string) *ssm.Client {
	return ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		if r.Region != "" {
			o.Region = r.Region
		}
		if r.ARN == "" {
			return
		}
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), r.ARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = session
			o.Duration = readerSessionDuration
		})
		o.Credentials = aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = readerExpiryWindow
		})
	})
}

// sessionName names the reader role's sessions after the function, so the
// rotator account's CloudTrail shows who read: AWS_LAMBDA_FUNCTION_NAME
// (letters, digits, '-' and '_', 2 to 64 of them), else a fixed name.
func sessionName(getenv func(string) string) string {
	if name := getenv("AWS_LAMBDA_FUNCTION_NAME"); len(name) >= 2 && len(name) <= 64 {
		return name
	}
	return "oauth-token-consumer"
}
