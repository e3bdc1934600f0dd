package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// TestRetryerHasNoRetryQuota checks that the rotator's AWS retryer retries
// throttling however often it comes: the SDK's standard client-side retry
// quota (500 tokens, 5 per retry) would refuse every retry after the 100th,
// turning a busy PutParameter quota into lost tokens.
func TestRetryerHasNoRetryQuota(t *testing.T) {
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	for _, tt := range []struct {
		name      string
		retryer   aws.Retryer
		wantLimit bool
	}{
		{"the SDK's standard retryer runs dry (the control)", retry.NewStandard(), true},
		{"the rotator's", newRetryer()(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.retryer.IsErrorRetryable(throttle) {
				t.Fatal("ThrottlingException is not retryable")
			}
			refused := 0
			for range 1000 {
				if _, err := tt.retryer.GetRetryToken(context.Background(), throttle); err != nil {
					refused++
				}
			}
			if (refused > 0) != tt.wantLimit {
				t.Errorf("%d of 1,000 throttled retries refused by the client-side quota; want refusals: %v", refused, tt.wantLimit)
			}
		})
	}
	if got := newRetryer()().MaxAttempts(); got != awsMaxAttempts {
		t.Errorf("MaxAttempts = %d; want %d", got, awsMaxAttempts)
	}
}
