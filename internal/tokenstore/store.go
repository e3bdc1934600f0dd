package tokenstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// API is the SSM operations the store uses; *ssm.Client satisfies it.
type API interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

var _ API = (*ssm.Client)(nil)

// Size limits of SSM parameter values.
const (
	StandardLimit = 4096
	AdvancedLimit = 8192
	// BatchSize is the most names one GetParameters call accepts.
	BatchSize = 10
)

// ErrTooLarge is returned for a record over AdvancedLimit.
var ErrTooLarge = errors.New("tokenstore: record exceeds the 8 KiB limit of an Advanced parameter")

// ErrParameterLimit is returned by Write when SSM refuses to create a
// parameter because the account and region hold as many as their tier
// allows (ParameterLimitExceeded).
var ErrParameterLimit = errors.New("tokenstore: the account and region hold the most parameters the standard tier allows (10,000): " +
	"delete parameters that are no longer used, or create this prefix's parameters in the advanced tier (up to 100,000 per account and region, charged per parameter per month)")

// ErrLeaseHeld is returned by Lease when another run holds the lease.
var ErrLeaseHeld = errors.New("tokenstore: another rotator run holds the lease")

// Store reads and writes records.
type Store struct {
	API API
	// KeyID is the KMS key for SecureStrings; empty means the account's
	// aws/ssm key.
	KeyID string
}

// Stored is a record as read.
type Stored struct {
	// Record is valid when Err is nil.
	Record tokenrecord.Record
	// Version is the parameter's version.
	Version int64
	// Err says why the value is unreadable (it never quotes the value).
	Err error
}

// String describes the stored record without its token.
func (s Stored) String() string {
	if s.Err != nil {
		return fmt.Sprintf("tokenstore.Stored{version=%d err=%q}", s.Version, s.Err.Error())
	}
	return fmt.Sprintf("tokenstore.Stored{version=%d record=%s}", s.Version, s.Record)
}

// GoString is String, so %#v does not print the token either.
func (s Stored) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without the token (slog's JSON handler
// would otherwise encode the record's every field).
func (s Stored) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int64("version", s.Version)}
	if s.Err != nil {
		return slog.GroupValue(append(attrs, slog.String("error", s.Err.Error()))...)
	}
	return slog.GroupValue(append(attrs, slog.Any("record", s.Record))...)
}

// Tier returns the smallest tier that holds a value of n bytes.
func Tier(n int) (types.ParameterTier, error) {
	switch {
	case n <= StandardLimit:
		return types.ParameterTierStandard, nil
	case n <= AdvancedLimit:
		return types.ParameterTierAdvanced, nil
	default:
		return "", fmt.Errorf("%w (%d bytes)", ErrTooLarge, n)
	}
}

// Read fetches the named records, BatchSize per call. Names with no
// parameter are absent from the result; present but unreadable ones carry
// Stored.Err. An error means a call failed and the result is incomplete.
func (s *Store) Read(ctx context.Context, names []string) (map[string]Stored, error) {
	out, _, err := s.ReadWith(ctx, names, nil)
	return out, err
}

// ReadWith is Read, and also reads the parameters named in extra, which are
// not records, in the same batches: their values are returned as they are
// stored, in the second map (names with no parameter are absent).
func (s *Store) ReadWith(ctx context.Context, names, extra []string) (map[string]Stored, map[string]string, error) {
	out := make(map[string]Stored, len(names))
	raw := make(map[string]string, len(extra))
	all := append(slices.Clip(names), extra...)
	for start := 0; start < len(all); start += BatchSize {
		batch := all[start:min(start+BatchSize, len(all))]
		res, err := s.API.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(true)})
		if err != nil {
			return out, raw, fmt.Errorf("tokenstore: get parameters %s: %w", strings.Join(batch, ","), err)
		}
		for _, p := range res.Parameters {
			name := aws.ToString(p.Name)
			if slices.Contains(extra, name) {
				raw[name] = aws.ToString(p.Value)
				continue
			}
			st := Stored{Version: p.Version}
			switch {
			case p.Type != types.ParameterTypeSecureString:
				st.Err = fmt.Errorf("tokenstore: %s is a %s parameter, not SecureString", name, p.Type)
			default:
				rec, err := tokenrecord.Parse([]byte(aws.ToString(p.Value)))
				st.Record, st.Err = rec, err
			}
			out[name] = st
		}
	}
	return out, raw, nil
}

// Write stores rec under name as a SecureString, overwriting the previous
// version, and returns the new version. Nothing is written when the record
// is invalid or too large.
func (s *Store) Write(ctx context.Context, name string, rec tokenrecord.Record) (int64, error) {
	value, err := tokenrecord.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("tokenstore: put %s: %w", name, err)
	}
	tier, err := Tier(len(value))
	if err != nil {
		return 0, fmt.Errorf("tokenstore: put %s: %w", name, err)
	}
	in := &ssm.PutParameterInput{
		Name:        aws.String(name),
		Value:       aws.String(string(value)),
		Type:        types.ParameterTypeSecureString,
		Overwrite:   aws.Bool(true),
		Tier:        tier,
		Description: aws.String("OAuth token record for profile " + rec.Profile + ", written by oauth-token-rotator"),
	}
	if s.KeyID != "" {
		in.KeyId = aws.String(s.KeyID)
	}
	out, err := s.API.PutParameter(ctx, in)
	var ve smithy.APIError
	if err != nil && tier == types.ParameterTierStandard && errors.As(err, &ve) && ve.ErrorCode() == "ValidationException" {
		// SSM cannot move an Advanced parameter back to Standard: a record
		// that once needed 8 KiB stays Advanced. Anything else fails the
		// same way again, and the first error is the one reported.
		in.Tier = types.ParameterTierAdvanced
		retried, rerr := s.API.PutParameter(ctx, in)
		var re smithy.APIError
		switch {
		case rerr == nil:
			out, err = retried, nil
		case !errors.As(rerr, &re) || re.ErrorCode() != "ValidationException":
			// The retry failed otherwise (throttled, say): that is the
			// error the caller must see to try again.
			err = rerr
		}
	}
	if err != nil && errors.As(err, &ve) && ve.ErrorCode() == "ParameterLimitExceeded" {
		return 0, fmt.Errorf("tokenstore: put %s: %w (%w)", name, ErrParameterLimit, err)
	}
	if err != nil {
		return 0, fmt.Errorf("tokenstore: put %s: %w", name, err)
	}
	return out.Version, nil
}

// LeaseName is the parameter that holds the lease on name: name +
// tokenrecord.LeaseSuffix (".lock", which no record name ends with; the
// suffix predates the name "lease" and is kept, so that deployed stacks and
// their IAM policy, which allows deleting only *.lock, keep working).
func LeaseName(name string) string { return name + tokenrecord.LeaseSuffix }

// Lease takes the lease on name for ttl. It returns ErrLeaseHeld when another
// run holds a lease that has not expired; an expired or unreadable lease
// (its holder died) is taken over. The returned release deletes the lease.
//
// A lease is created with Overwrite=false, which only one run can do. An
// expired one is taken over by overwriting it, and the take-over counts only
// if this write made the version right after the expired lease's: SSM
// numbers a parameter's versions one by one, so when several runs find the
// same expired lease, exactly one of them holds it afterwards. (Deleting and
// re-creating it instead would let a second run delete the fresh lease of
// the first, and both would fetch the token.)
func (s *Store) Lease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (release func(context.Context), err error) {
	param := LeaseName(name)
	until := now.Add(ttl).UTC()
	// The nonce makes every lease value unique, so that release can tell
	// its own lease from one another run took over after it expired.
	value := owner + "#" + nonce() + " " + until.Format(time.RFC3339Nano)
	put := func(overwrite bool) (*ssm.PutParameterOutput, error) {
		return s.API.PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String(param), Value: aws.String(value), Type: types.ParameterTypeString,
			Overwrite: aws.Bool(overwrite), Tier: types.ParameterTierStandard,
			Description: aws.String("oauth-token-rotator lease: a run is refreshing this token"),
		})
	}
	// current reads the lease parameter: nil when there is none.
	current := func(ctx context.Context) (*types.Parameter, error) {
		res, err := s.API.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{param}})
		if err != nil || len(res.Parameters) != 1 {
			return nil, err
		}
		return &res.Parameters[0], nil
	}
	ours := func(p *types.Parameter) bool { return p != nil && aws.ToString(p.Value) == value }
	release = func(ctx context.Context) {
		// Delete the lease only while it is still ours: if it expired and
		// another run took it over, deleting it would let a third run in.
		// (SSM has no conditional delete; the window between this read and
		// the delete is the residual risk, documented in the package doc.)
		if held, err := current(ctx); err != nil || !ours(held) {
			return
		}
		_, _ = s.API.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(param)})
	}
	_, err = put(false)
	if err == nil {
		return release, nil
	}
	var exists *types.ParameterAlreadyExists
	if !errors.As(err, &exists) {
		return nil, fmt.Errorf("tokenstore: lease %s: %w", param, err)
	}
	// Someone holds it: take it over only if it has expired.
	held, gerr := current(ctx)
	if gerr != nil {
		return nil, fmt.Errorf("tokenstore: lease %s: %w", param, gerr)
	}
	if held == nil {
		// Released in the meantime: create it again, if nobody else has.
		if _, err := put(false); err != nil {
			if !errors.As(err, &exists) {
				return nil, fmt.Errorf("tokenstore: lease %s: %w", param, err)
			}
			// Someone has; it may be this very create, answered late.
			if again, gerr := current(ctx); gerr != nil || !ours(again) {
				return nil, ErrLeaseHeld
			}
		}
		return release, nil
	}
	if ours(held) {
		// Our own create: SSM applied it, but its answer was lost and the
		// SDK's retry found the lease existing.
		return release, nil
	}
	if exp, ok := leaseExpiry(aws.ToString(held.Value)); ok && now.Before(exp) {
		return nil, ErrLeaseHeld
	}
	out, err := put(true)
	if err != nil {
		return nil, fmt.Errorf("tokenstore: lease %s: take over expired lease: %w", param, err)
	}
	// Version 1: the expired lease was released before this write, which
	// created a new one.
	if out.Version != held.Version+1 && out.Version != 1 {
		return nil, ErrLeaseHeld // another run took it over first
	}
	return release, nil
}

// nonce returns 64 random bits in hex.
func nonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func leaseExpiry(v string) (time.Time, bool) {
	i := strings.LastIndexByte(v, ' ')
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v[i+1:])
	return t, err == nil
}
