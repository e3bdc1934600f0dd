// Package throttle recognises an AWS call refused for its rate, for the
// two places that wait and call again: the rotator's record writes
// (internal/rotate) and the consumer cache's reads (pkg/tokencache).
// Parameter Store answers ThrottlingException; the other codes are those
// AWS services answer for the same refusal.
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
