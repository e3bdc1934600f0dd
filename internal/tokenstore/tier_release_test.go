package tokenstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// tierSSM refuses to move an Advanced parameter back to Standard, as SSM
// does (moto does not).
type tierSSM struct {
	fakeSSM
	tiers map[string]types.ParameterTier
	calls int // PutParameter calls, refused ones included
}

func (f *tierSSM) PutParameter(ctx context.Context, in *ssm.PutParameterInput, o ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	f.calls++
	name := aws.ToString(in.Name)
	if f.tiers[name] == types.ParameterTierAdvanced && in.Tier == types.ParameterTierStandard {
		return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier."}
	}
	f.tiers[name] = in.Tier
	out, err := f.fakeSSM.PutParameter(ctx, in, o...)
	if f.params != nil {
		f.params[name] = types.Parameter{Name: in.Name, Value: in.Value, Type: in.Type, Version: out.Version}
	}
	return out, err
}

func TestWriteKeepsAdvancedTier(t *testing.T) {
	f := &tierSSM{tiers: map[string]types.ParameterTier{}}
	s := &Store{API: f}
	ctx := context.Background()
	if _, err := s.Write(ctx, "/oauth-tokens/p", record(5000)); err != nil {
		t.Fatalf("Write(5 KB) = %v", err)
	}
	if _, err := s.Write(ctx, "/oauth-tokens/p", record(100)); err != nil {
		t.Fatalf("Write(100 B) after an Advanced record = %v; want it written as Advanced", err)
	}
	if got := f.tiers["/oauth-tokens/p"]; got != types.ParameterTierAdvanced {
		t.Errorf("tier = %q; want Advanced kept", got)
	}
	// A new parameter with a small record is still Standard.
	if _, err := s.Write(ctx, "/oauth-tokens/q", record(100)); err != nil || f.tiers["/oauth-tokens/q"] != types.ParameterTierStandard {
		t.Errorf("Write(new small) = %v, tier %q; want Standard", err, f.tiers["/oauth-tokens/q"])
	}
	// Other validation errors are reported, not hidden by the retry.
	bad := &failingSSM{err: &smithy.GenericAPIError{Code: "ValidationException", Message: "parameter name is invalid"}}
	if _, err := (&Store{API: bad}).Write(ctx, "/oauth-tokens/x", record(10)); err == nil || bad.puts != 2 {
		t.Errorf("Write with a lasting ValidationException = %v after %d puts; want the error after one retry", err, bad.puts)
	}
}

type failingSSM struct {
	fakeSSM
	err  error
	puts int
}

func (f *failingSSM) PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	f.puts++
	return nil, f.err
}

// A run whose lease expired and was taken over must not delete the new
// holder's lease when it finally releases its own.
func TestReleaseDeletesOnlyOwnLease(t *testing.T) {
	srv := mototest.Start(t)
	client, _ := srv.Clients(t)
	s := &Store{API: client}
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	releaseA, err := s.Lease(ctx, "/oauth-tokens/p", "run-a", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// A is slow; its lease expires and B takes it over.
	releaseB, err := s.Lease(ctx, "/oauth-tokens/p", "run-b", now.Add(2*time.Minute), time.Minute)
	if err != nil {
		t.Fatalf("B's take-over = %v", err)
	}
	releaseA(ctx) // must leave B's lease alone
	if _, err := s.Lease(ctx, "/oauth-tokens/p", "run-c", now.Add(2*time.Minute), time.Minute); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("C's Lease after A's late release = %v; want ErrLeaseHeld (B still holds it)", err)
	}
	releaseB(ctx)
	releaseC, err := s.Lease(ctx, "/oauth-tokens/p", "run-c", now.Add(2*time.Minute), time.Minute)
	if err != nil {
		t.Fatalf("C's Lease after B's release = %v", err)
	}
	releaseC(ctx)
}

// seqSSM answers each PutParameter with the next of errs.
type seqSSM struct {
	fakeSSM
	errs []error
}

func (f *seqSSM) PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	err := f.errs[0]
	f.errs = f.errs[1:]
	return &ssm.PutParameterOutput{Version: 1}, err
}

// TestAdvancedRetryReportsItsOwnFailure checks that when the Advanced
// retry of a once-Advanced record is throttled, the throttling is what the
// caller sees (so that it writes the token again), not the first
// ValidationException.
func TestAdvancedRetryReportsItsOwnFailure(t *testing.T) {
	f := &seqSSM{errs: []error{
		&smithy.GenericAPIError{Code: "ValidationException", Message: "You can't downgrade a parameter from the advanced-parameter tier"},
		&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
	}}
	_, err := (&Store{API: f}).Write(context.Background(), "/oauth-tokens/p", record(100))
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Errorf("Write = %v; want the retry's ThrottlingException", err)
	}
}

// TestRewriteOfAdvancedRecordIsOneWrite: a run (in a new Lambda environment,
// so a new Store) that reads an Advanced record and rewrites it with a
// token that fits Standard makes one PutParameter call, as its write
// budget counts, not a refused Standard one and an Advanced retry; and so
// does its next rewrite, whose stored value is then small.
func TestRewriteOfAdvancedRecordIsOneWrite(t *testing.T) {
	const name = "/oauth-tokens/p"
	big, err := tokenrecord.Marshal(record(5000))
	if err != nil {
		t.Fatal(err)
	}
	f := &tierSSM{tiers: map[string]types.ParameterTier{name: types.ParameterTierAdvanced},
		fakeSSM: fakeSSM{params: map[string]types.Parameter{name: {Name: aws.String(name), Value: aws.String(string(big)), Type: types.ParameterTypeSecureString, Version: 1}}}}
	s := &Store{API: f}
	ctx := context.Background()
	for i := range 2 {
		if _, err := s.Read(ctx, []string{name}); err != nil {
			t.Fatal(err)
		}
		before := f.calls
		if _, err := s.Write(ctx, name, record(100)); err != nil {
			t.Fatalf("rewrite %d: Write(100 B) = %v", i+1, err)
		}
		if n := f.calls - before; n != 1 || f.tiers[name] != types.ParameterTierAdvanced {
			t.Errorf("rewrite %d of an Advanced record with a small token: %d PutParameter calls, tier %q; want 1, Advanced", i+1, n, f.tiers[name])
		}
	}
}
