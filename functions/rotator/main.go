// Command rotator is the rotator Lambda: on each EventBridge schedule it
// refreshes the OAuth tokens that are due and stores them in SSM Parameter
// Store; {"force": true, "profiles": [...]} refreshes on demand.
//
// Environment:
//
//	PROFILES_FILE           profiles document (relative paths resolve against LAMBDA_TASK_ROOT); required
//	TOKEN_PARAMETER_PREFIX  parameter prefix (default /oauth-tokens)
//	KMS_KEY_ID              customer-managed KMS key for the SecureStrings (default: aws/ssm)
//	METRICS_NAMESPACE       CloudWatch namespace of the EMF metrics (default OAuthTokenRotator)
//	ENVIRONMENT             metric dimension, such as sandbox or production (default local)
//	ROTATOR_CONCURRENCY     profiles refreshed at once (default 16)
//	ROTATOR_WRITE_RATE      PutParameter calls per second the rotator may make (default 3: the account's
//	                        standard-throughput quota; 10 with Parameter Store's higher throughput, less
//	                        what other applications in the account and region write)
//	SCHEDULE_EXPRESSION     the schedule, rate(5 minutes) by default: a profile deferred by the write budget
//	                        whose token expires before the next run is a failure
//	LOG_LEVEL               debug, info, warn or error (default info)
//
// The AWS configuration comes from the environment alone (package awsenv):
// AWS_REGION, the execution role's credentials, AWS_ENDPOINT_URL and the
// service-specific AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL_SECRETS_MANAGER.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/awsenv"
	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

func main() {
	cfg, cfgErr := loadConfig(os.Getenv)
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slog.SetDefault(logger)

	awsCfg, err := awsenv.Load(awsenv.Options{Retryer: newRetryer(), Logger: logger})
	if err != nil {
		logger.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	h := newHandler(cfg, cfgErr, handlerDeps{
		Secrets: &clientcred.Reader{API: secretsmanager.NewFromConfig(awsCfg)},
		Store:   &tokenstore.Store{API: ssm.NewFromConfig(awsCfg), KeyID: cfg.KMSKeyID},
		Fetcher: &oauth.Client{},
		Logger:  logger,
		Metrics: os.Stdout,
	})
	lambda.Start(h.Handle)
}

// awsMaxAttempts bounds the attempts of one AWS call (the SDK's default is 3).
const awsMaxAttempts = 8

// newRetryer builds the AWS clients' retryer: SSM throttles bursts
// (ThrottlingException), so the SDK's standard retryer (exponential backoff
// with jitter; throttling, 5xx and connection errors retried) gets
// awsMaxAttempts attempts, and no client-side retry quota: the standard
// one (500 tokens, 5 per retry) runs dry after 100 throttled calls and
// then fails every further retry at once, which would turn the account's
// PutParameter quota into lost tokens. The rotator paces its own writes;
// the backoff absorbs what other applications take. retryOpts apply after
// that: the tests pass a zero backoff to prove this very configuration
// without waiting.
func newRetryer(retryOpts ...func(*retry.StandardOptions)) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(append([]func(*retry.StandardOptions){
			func(o *retry.StandardOptions) {
				o.MaxAttempts = awsMaxAttempts
				o.RateLimiter = ratelimit.None
			},
		}, retryOpts...)...)
	}
}
