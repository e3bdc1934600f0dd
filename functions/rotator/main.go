package main

import (
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/awsenv"
	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/throttle"
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
	var throttled atomic.Int64
	h := newHandler(cfg, cfgErr, handlerDeps{
		Secrets: &clientcred.Reader{API: secretsmanager.NewFromConfig(awsCfg)},
		Store: &tokenstore.Store{API: ssm.NewFromConfig(awsCfg, func(o *ssm.Options) { o.Retryer = countThrottles(o.Retryer, &throttled) }),
			KeyID: cfg.KMSKeyID},
		Fetcher:      &oauth.Client{RequestTimeout: cfg.RequestTimeout},
		Logger:       logger,
		Metrics:      os.Stdout,
		SSMThrottles: throttled.Load,
	})
	lambda.Start(h.Invoke)
}

// throttleCounter counts the attempts its retryer sees throttled (each is
// retried or, after the last attempt, returned): the SSMThrottles metric.
type throttleCounter struct {
	aws.RetryerV2
	n *atomic.Int64
}

// IsErrorRetryable counts err when SSM throttled the call, and leaves the
// decision to the wrapped retryer.
func (c throttleCounter) IsErrorRetryable(err error) bool {
	if throttle.Is(err) {
		c.n.Add(1)
	}
	return c.RetryerV2.IsErrorRetryable(err)
}

// countThrottles wraps r (the SDK's standard retryer, a RetryerV2) so that
// n counts throttled attempts.
func countThrottles(r aws.Retryer, n *atomic.Int64) aws.Retryer {
	if v2, ok := r.(aws.RetryerV2); ok {
		return throttleCounter{RetryerV2: v2, n: n}
	}
	return r
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
// without waiting. As with config.WithRetryer, AWS_MAX_ATTEMPTS and
// AWS_RETRY_MODE do not override it.
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
