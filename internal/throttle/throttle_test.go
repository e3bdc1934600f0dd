package throttle

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

func TestIs(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"SSM's ThrottlingException", api("ThrottlingException"), true},
		{"Throttling", api("Throttling"), true},
		{"TooManyRequestsException", api("TooManyRequestsException"), true},
		{"RequestLimitExceeded", api("RequestLimitExceeded"), true},
		{"wrapped by the SDK's retryer", &retry.MaxAttemptsError{Attempt: 3, Err: &smithy.OperationError{ServiceID: "SSM", OperationName: "GetParameter", Err: api("ThrottlingException")}}, true},
		{"wrapped with context", fmt.Errorf("tokenstore: put /p: %w", api("ThrottlingException")), true},
		{"the parameter limit is not a rate", api("ParameterLimitExceeded"), false},
		{"AccessDeniedException", api("AccessDeniedException"), false},
		{"not an API error", errors.New("connection reset"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Is(tt.err); got != tt.want {
				t.Errorf("Is(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
}
