package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// API is the SSM operations the store uses; *ssm.Client satisfies it.
// GetParameterHistory reads only leases (whose values hold no token).
type API interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
	GetParameterHistory(ctx context.Context, in *ssm.GetParameterHistoryInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterHistoryOutput, error)
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

	// advanced holds the names of the parameters this Store has seen in the
	// Advanced tier (a value over StandardLimit read, or an Advanced write).
	// SSM cannot move them back to Standard, so a record that fits
	// Standard is written to them as Advanced at once: one PutParameter
	// call, as the rotator's write budget counts, not a refused Standard
	// one and an Advanced retry.
	advanced sync.Map
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
			if len(aws.ToString(p.Value)) > StandardLimit {
				s.advanced.Store(name, true)
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
	if _, ok := s.advanced.Load(name); ok {
		tier = types.ParameterTierAdvanced
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
		// that once needed 8 KiB stays Advanced. This Store did not know
		// (another Lambda environment wrote the large record, and the one
		// stored now is small), and knows from now on. Anything else fails
		// the same way again, and the first error is the one reported.
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
	if err == nil && in.Tier == types.ParameterTierAdvanced {
		s.advanced.Store(name, true)
	}
	if err != nil && errors.As(err, &ve) && ve.ErrorCode() == "ParameterLimitExceeded" {
		return 0, fmt.Errorf("tokenstore: put %s: %w (%w)", name, ErrParameterLimit, err)
	}
	if err != nil {
		return 0, fmt.Errorf("tokenstore: put %s: %w", name, err)
	}
	return out.Version, nil
}
