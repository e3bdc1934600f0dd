package tokencache_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
)

// Example_otherAccount reads the token records of the rotator's account
// from another account of the organization, through the reader role that
// the rotator's stack creates for it (its CrossAccountReaderRoleArn
// output, for the accounts in CrossAccountReaderAccounts or the
// organization in CrossAccountReaderOrgId). This process's own role needs
// sts:AssumeRole on that role and nothing else. The role's credentials
// are assumed on the first read and replaced a minute before they expire;
// the records are read in the rotator's region. TestExampleOtherAccount
// runs it against moto, as a workload account and as an outsider.
func Example_otherAccount() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx) // this account: the Lambda's execution role
	if err != nil {
		fmt.Println(err)
		return
	}
	roleARN := os.Getenv("TOKEN_READER_ROLE_ARN") // arn:aws:iam::<rotator's account>:role/…
	creds := aws.NewCredentialsCache(
		stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "leads-export" // shown in the rotator account's CloudTrail
		}),
		func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = time.Minute })
	client := ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		o.Credentials = creds
		if region := os.Getenv("TOKEN_REGION"); region != "" {
			o.Region = region // the rotator's region, when it is not this one
		}
	})
	cache := tokencache.New(client, tokencache.Config{RoleARN: roleARN}) // RoleARN: named in errors

	token, err := cache.Source("aviv-caas-agency-42").Token(ctx)
	if err != nil {
		fmt.Println(err) // names the profile, the parameter and the role, and what to change
		return
	}
	fmt.Printf("a token of %d bytes\n", len(token))
}
