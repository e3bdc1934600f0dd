package throttle

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Is reports whether err, or an error it wraps (the SDK's retryer wraps
// the last attempt's), is AWS refusing a call for its rate.
func Is(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded":
		return true
	}
	return false
}
