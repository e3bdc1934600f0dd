package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/m2mtokens/oauth-token-rotator/internal/awsenv"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(logger)
	h, err := setup(os.Getenv, os.Stdout, logger)
	if err != nil {
		logger.Error("consumer: init failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

// consumerMaxBackoff bounds the SDK's wait between two attempts of a read.
const consumerMaxBackoff = time.Second

// setup builds the handler once per process, outside the handler, so that
// its cache survives warm invocations.
func setup(getenv func(string) string, metrics io.Writer, logger *slog.Logger) (*handler, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	// honours AWS_ENDPOINT_URL(_SSM). The retryer is the SDK's standard one
	// without its client-side retry quota, which a burst of throttled reads
	// (Parameter Store: 40 per second per account and region) would empty,
	// failing every further retry at once, and with waits of at most
	// consumerMaxBackoff (the SDK's own grow to 20 s): tokencache backs off
	// on throttling itself, within its read timeout.
	awsCfg, err := awsenv.Load(awsenv.Options{Logger: logger, Retryer: func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter = ratelimit.None
			o.Backoff = retry.NewExponentialJitterBackoff(consumerMaxBackoff)
		})
	}})
	if err != nil {
		return nil, fmt.Errorf("consumer: load AWS configuration: %w", err)
	}
	cache := tokencache.New(cfg.Reader.ssmClient(awsCfg, cfg.SessionName), tokencache.Config{
		Prefix:          cfg.ParameterPrefix,
		MinReadInterval: cfg.MinReadInterval,
		Logger:          logger,
		RoleARN:         cfg.Reader.ARN,
	})
	return newHandler(cfg, cache, nil, metrics), nil
}
