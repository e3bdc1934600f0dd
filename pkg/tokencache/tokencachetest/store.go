package tokencachetest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// Store is an in-memory SSM Parameter Store holding token records by
// parameter name. Its GetParameter has the signature of *ssm.Client's, so
// a *Store can be passed to tokencache.New. The zero value is an empty
// store under the default prefix; it is safe for concurrent use.
//
// It serves each state a consumer must handle:
//
//   - valid: SetToken with an issue time of now and a lifetime;
//   - expiring or expired: SetToken with an earlier issue time, so that the
//     record's expires_at is within the cache's skew (60 s by default) or past;
//   - missing: a profile never set, or Delete (the read fails as SSM's does,
//     with *types.ParameterNotFound, which the cache reports as
//     tokencache.ErrNotFound);
//   - unreadable: SetValue with anything that is not a valid record;
//   - rotated: SetToken again with a new token; the cache picks it up at its
//     next read (after Config.MaxAge, near expiry, or after a 401);
//   - failing: FailReads, for access denied, throttling or a network error.
//
// Reads and ReadNames count the cache's GetParameter calls, so that a test
// can assert that its code reuses tokens.
type Store struct {
	// Prefix is the parameter prefix of the profiles named in SetToken and
	// Delete, as tokencache.Config.Prefix is for the cache: it must match
	// the cache's. Empty means tokenrecord.DefaultPrefix.
	Prefix string

	// OnRead, when set, is called at the start of every GetParameter call,
	// after it is counted and before the value is looked up, with the
	// call's context and the parameter name. A non-nil error fails the
	// read with it. Tests use it to hold a read (wait for a channel or
	// ctx.Done) or to see that one has started. Set it before the first
	// read.
	OnRead func(ctx context.Context, parameter string) error

	mu     sync.Mutex
	values map[string]string
	err    error
	names  []string // parameters read, in order
}

// GetParameter returns the value stored under in.Name as SSM would with
// WithDecryption, the error set by FailReads, or, when nothing is stored
// under the name, an error wrapping *types.ParameterNotFound. A call
// without WithDecryption fails: the record is a SecureString, and
// tokencache always decrypts it.
func (s *Store) GetParameter(ctx context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	name := aws.ToString(in.Name)
	s.mu.Lock()
	s.names = append(s.names, name)
	hook := s.OnRead
	s.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, name); err != nil {
			return nil, err
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !aws.ToBool(in.WithDecryption) {
		return nil, fmt.Errorf("tokencachetest: GetParameter %q without WithDecryption: the record is a SecureString", name)
	}
	if s.err != nil {
		return nil, s.err
	}
	v, ok := s.values[name]
	if !ok {
		return nil, &smithy.OperationError{ServiceID: "SSM", OperationName: "GetParameter",
			Err: &types.ParameterNotFound{Message: aws.String("parameter " + name + " not found")}}
	}
	return &ssm.GetParameterOutput{Parameter: &types.Parameter{
		Name: aws.String(name), Type: types.ParameterTypeSecureString, Value: aws.String(v),
	}}, nil
}

// Parameter returns the name under which the cache reads profile's record:
// tokenrecord.ParameterName(s.Prefix, profile).
func (s *Store) Parameter(profile string) string {
	return tokenrecord.ParameterName(s.Prefix, profile)
}

// SetToken stores a valid record for profile, as the rotator writes it: a
// Bearer token issued at issuedAt that expires lifetime later. Calling it
// again replaces the record, as a rotation does. It panics if the record
// cannot be encoded (an empty token, a non-positive lifetime or an invalid
// profile name): a mistake in the test.
func (s *Store) SetToken(profile, token string, issuedAt time.Time, lifetime time.Duration) {
	s.SetRecord(s.Parameter(profile), tokenrecord.Record{
		AccessToken: token, TokenType: "Bearer", Profile: profile,
		IssuedAt: issuedAt, ExpiresAt: issuedAt.Add(lifetime),
	})
}

// SetRecord stores rec under the parameter name (for a Source built with
// tokencache.Cache.SourceByParameter, or a record for another profile). It panics
// if rec breaks the record contract: a mistake in the test. Use SetValue to
// store an invalid record.
func (s *Store) SetRecord(parameter string, rec tokenrecord.Record) {
	b, err := tokenrecord.Marshal(rec)
	if err != nil {
		panic(fmt.Sprintf("tokencachetest: SetRecord %q: %v", parameter, err))
	}
	s.SetValue(parameter, string(b))
}

// SetValue stores value under the parameter name as it is, valid or not:
// the way to serve an unreadable record ("not json", a record without
// expires_at, a record for another profile).
func (s *Store) SetValue(parameter, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]string{}
	}
	s.values[parameter] = value
}

// Delete removes the record of profile, so that reads find no parameter.
func (s *Store) Delete(profile string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.values, s.Parameter(profile))
}

// FailReads makes every following read fail with err, until FailReads(nil).
// The cache reports such failures as tokencache.ErrReadFailed, and serves a
// token it holds while that token is valid. ErrThrottled is an error like
// the one SSM answers when its quota is exceeded.
func (s *Store) FailReads(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// ErrThrottled is an error with the code SSM answers when an account's
// GetParameter quota is exceeded (ThrottlingException), for FailReads. A
// tokencache.Cache reads again after a jittered backoff for as long as its
// ReadTimeout leaves time, so a read that meets it calls GetParameter more
// than once.
var ErrThrottled error = &smithy.OperationError{ServiceID: "SSM", OperationName: "GetParameter",
	Err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded", Fault: smithy.FaultClient}}

// Reads returns the number of GetParameter calls so far, failed ones
// included.
func (s *Store) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.names)
}

// ReadNames returns the parameter names read so far, in order, one per
// GetParameter call.
func (s *Store) ReadNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.names...)
}
