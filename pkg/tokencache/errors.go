package tokencache

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// Kinds of failure, matched with errors.Is against any error a
// Source, its TokenSource or its Transport returns.
var (
	// ErrNotFound means the parameter does not exist (SSM ParameterNotFound):
	// the rotator has not yet written this profile's record, or the name or
	// prefix is wrong.
	ErrNotFound = errors.New("tokencache: token record not found")
	// ErrUnreadable means the parameter holds something that is not a valid
	// token record: not JSON, a field missing, or a record for another
	// profile.
	ErrUnreadable = errors.New("tokencache: token record unreadable")
	// ErrExpired means the stored record's token has expired (or is within
	// the skew of expiring): the rotator has stalled.
	ErrExpired = errors.New("tokencache: token record expired")
	// ErrReadFailed means the parameter could not be read: access denied,
	// throttling, a network error or the read's timeout.
	ErrReadFailed = errors.New("tokencache: token record could not be read")
)

// Error is the error returned when no valid token can be served. It names
// the profile and the parameter (and the role read through, when
// Config.RoleARN is set), never the token. Kind is one of ErrNotFound,
// ErrUnreadable, ErrExpired or ErrReadFailed, or nil when the caller's
// context ended first or the name is invalid; Err is the cause. errors.Is
// matches both Kind and anything Err wraps (for example
// context.DeadlineExceeded or *types.ParameterNotFound).
type Error struct {
	// Profile is the profile asked for; empty when the Source was named by
	// parameter (Cache.SourceByParameter).
	Profile string
	// Parameter is the SSM parameter name.
	Parameter string
	// Role is Config.RoleARN: the role read through, or empty.
	Role string
	// Kind is the kind of failure (see the Err variables), or nil.
	Kind error
	// ExpiresAt is the stored token's expiry, for ErrExpired.
	ExpiresAt time.Time
	// Err is the cause, or nil.
	Err error
}

// Error describes the failure without the token.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("tokencache: ")
	if e.Profile != "" {
		b.WriteString("profile ")
		b.WriteString(strconv.Quote(e.Profile))
		b.WriteString(" (parameter ")
		b.WriteString(strconv.Quote(e.Parameter))
		b.WriteString(")")
	} else {
		b.WriteString("parameter ")
		b.WriteString(strconv.Quote(e.Parameter))
	}
	if e.Role != "" {
		b.WriteString(" through role ")
		b.WriteString(e.Role)
	}
	switch e.Kind {
	case ErrNotFound:
		b.WriteString(": token record not found; has the rotator written it?")
	case ErrUnreadable:
		b.WriteString(": token record unreadable")
	case ErrExpired:
		b.WriteString(": token record expired at ")
		b.WriteString(e.ExpiresAt.UTC().Format(time.RFC3339))
		b.WriteString("; the rotator has stalled")
	case ErrReadFailed:
		b.WriteString(": token record could not be read")
		if hint := e.roleHint(); hint != "" {
			b.WriteString(": ")
			b.WriteString(hint)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Kind and Err, so errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// roleHint says what to change when a read through Role failed because the
// role could not be assumed, may not read the record, or may not decrypt
// it. SSM answers AccessDeniedException for the last two, and its message
// tells them apart: a KMS denial names the service AWSKMS (and kms:Decrypt
// or the key), an SSM one ssm:GetParameter and the parameter. A message
// naming neither gets every cause.
func (e *Error) roleHint() string {
	if e.Role == "" {
		return ""
	}
	if failedIn(e.Err, "STS") {
		return "the role could not be assumed: the rotator's stack must trust this account " +
			"(CrossAccountReaderAccounts, CrossAccountReaderOrgId or CrossAccountReaderOrgPaths) " +
			"and this process's own role needs sts:AssumeRole on " + e.Role
	}
	var ae smithy.APIError
	if !errors.As(e.Err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		return ""
	}
	const (
		read = "read it in the rotator's region (the client's region), and check that the rotator's stack's " +
			"CrossAccountReaderProfiles matches the record's parameter name"
		decrypt = "the rotator's stack's KmsKeyId must be the key that encrypts the records (the role may decrypt " +
			"only with it, only through SSM), and that key's key policy must let the account's IAM policies grant it " +
			"(the default key policy does)"
	)
	msg := ae.ErrorMessage()
	switch {
	case strings.Contains(msg, "AWSKMS") || strings.Contains(strings.ToLower(msg), "kms:"):
		return "the role may read this record but cannot decrypt it: KMS refused: " + decrypt
	case strings.Contains(msg, "ssm:"):
		return "the role may not read this record: " + read
	}
	return "the role was refused this record: " + read + "; or, when the records use a customer managed key, " + decrypt
}

// failedIn reports whether err comes from a call to the AWS service with
// that ID (such as the STS AssumeRole behind an SSM client's credentials),
// at any depth of the SDK's operation errors.
func failedIn(err error, service string) bool {
	for err != nil {
		var op *smithy.OperationError
		if !errors.As(err, &op) {
			return false
		}
		if op.ServiceID == service {
			return true
		}
		err = op.Err
	}
	return false
}
