package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// fakeSSM records calls; it is enough for the tier rule and batching.
type fakeSSM struct {
	mu      sync.Mutex
	puts    []*ssm.PutParameterInput
	batches [][]string
	params  map[string]types.Parameter
}

func (f *fakeSSM) GetParameters(_ context.Context, in *ssm.GetParametersInput, _ ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(in.Names) > BatchSize {
		return nil, fmt.Errorf("ValidationException: %d names", len(in.Names))
	}
	f.batches = append(f.batches, in.Names)
	out := &ssm.GetParametersOutput{}
	for _, n := range in.Names {
		if p, ok := f.params[n]; ok {
			out.Parameters = append(out.Parameters, p)
		} else {
			out.InvalidParameters = append(out.InvalidParameters, n)
		}
	}
	return out, nil
}

// GetParameterHistory answers with the current version only: this fake
// keeps no history.
func (f *fakeSSM) GetParameterHistory(_ context.Context, in *ssm.GetParameterHistoryInput, _ ...func(*ssm.Options)) (*ssm.GetParameterHistoryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.params[aws.ToString(in.Name)]
	if !ok {
		return nil, &types.ParameterNotFound{Message: in.Name}
	}
	return &ssm.GetParameterHistoryOutput{Parameters: []types.ParameterHistory{{Name: p.Name, Value: p.Value, Type: p.Type, Version: p.Version}}}, nil
}

func (f *fakeSSM) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = append(f.puts, in)
	return &ssm.PutParameterOutput{Version: int64(len(f.puts))}, nil
}

func (f *fakeSSM) DeleteParameter(context.Context, *ssm.DeleteParameterInput, ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error) {
	return &ssm.DeleteParameterOutput{}, nil
}

func record(tokenLen int) tokenrecord.Record {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	return tokenrecord.Record{AccessToken: strings.Repeat("t", tokenLen), TokenType: "Bearer", Profile: "p", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func TestTier(t *testing.T) {
	tests := []struct {
		n       int
		want    types.ParameterTier
		wantErr bool
	}{
		{1, types.ParameterTierStandard, false},
		{4096, types.ParameterTierStandard, false},
		{4097, types.ParameterTierAdvanced, false},
		{8192, types.ParameterTierAdvanced, false},
		{8193, "", true},
	}
	for _, tt := range tests {
		got, err := Tier(tt.n)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("Tier(%d) = %q, %v; want %q, error %v", tt.n, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestWriteChoosesTier(t *testing.T) {
	overhead := func() int { b, _ := tokenrecord.Marshal(record(0 + 1)); return len(b) - 1 }()
	tests := []struct {
		name     string
		tokenLen int
		want     types.ParameterTier
		wantErr  bool
	}{
		{"small", 1000, types.ParameterTierStandard, false},
		{"exactly 4 KiB", StandardLimit - overhead, types.ParameterTierStandard, false},
		{"one byte over 4 KiB", StandardLimit - overhead + 1, types.ParameterTierAdvanced, false},
		{"exactly 8 KiB", AdvancedLimit - overhead, types.ParameterTierAdvanced, false},
		{"over 8 KiB", AdvancedLimit - overhead + 1, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSSM{}
			s := &Store{API: f, KeyID: "alias/tokens"}
			_, err := s.Write(context.Background(), "/oauth-tokens/p", record(tt.tokenLen))
			if tt.wantErr {
				if !errors.Is(err, ErrTooLarge) || len(f.puts) != 0 {
					t.Fatalf("Write = %v with %d puts; want ErrTooLarge and nothing written", err, len(f.puts))
				}
				if strings.Contains(err.Error(), "tttttttt") {
					t.Errorf("error %q quotes the token", err)
				}
				return
			}
			if err != nil || len(f.puts) != 1 {
				t.Fatalf("Write = %v (%d puts)", err, len(f.puts))
			}
			in := f.puts[0]
			if in.Tier != tt.want || in.Type != types.ParameterTypeSecureString || !aws.ToBool(in.Overwrite) || aws.ToString(in.KeyId) != "alias/tokens" {
				t.Errorf("PutParameter = tier %q type %q overwrite %v key %q; want %q SecureString overwrite alias/tokens",
					in.Tier, in.Type, aws.ToBool(in.Overwrite), aws.ToString(in.KeyId), tt.want)
			}
		})
	}
}

func TestReadBatches(t *testing.T) {
	f := &fakeSSM{params: map[string]types.Parameter{}}
	var names []string
	for i := 0; i < 23; i++ {
		n := fmt.Sprintf("/oauth-tokens/p%d", i)
		names = append(names, n)
		if i%2 == 0 {
			b, _ := tokenrecord.Marshal(record(10))
			f.params[n] = types.Parameter{Name: aws.String(n), Value: aws.String(string(b)), Type: types.ParameterTypeSecureString, Version: 3}
		}
	}
	f.params["/oauth-tokens/p2"] = types.Parameter{Name: aws.String("/oauth-tokens/p2"), Value: aws.String("{"), Type: types.ParameterTypeSecureString}
	f.params["/oauth-tokens/p4"] = types.Parameter{Name: aws.String("/oauth-tokens/p4"), Value: aws.String("{}"), Type: types.ParameterTypeString}
	got, err := (&Store{API: f}).Read(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.batches) != 3 {
		t.Errorf("GetParameters calls = %d; want ceil(23/10) = 3", len(f.batches))
	}
	if len(got) != 12 {
		t.Errorf("Read returned %d records; want 12 (missing names absent)", len(got))
	}
	if got["/oauth-tokens/p0"].Err != nil || got["/oauth-tokens/p0"].Version != 3 {
		t.Errorf("p0 = %+v; want readable, version 3", got["/oauth-tokens/p0"])
	}
	if got["/oauth-tokens/p2"].Err == nil || got["/oauth-tokens/p4"].Err == nil {
		t.Errorf("unreadable p2 / String p4 = %v / %v; want errors", got["/oauth-tokens/p2"].Err, got["/oauth-tokens/p4"].Err)
	}
}

func TestStoreAgainstMoto(t *testing.T) {
	srv := mototest.Start(t)
	client, _ := srv.Clients(t)
	s := &Store{API: client}
	ctx := context.Background()
	rec := record(64)
	v1, err := s.Write(ctx, "/oauth-tokens/p", rec)
	if err != nil {
		t.Fatal(err)
	}
	rec.AccessToken = strings.Repeat("u", 5000) // Advanced tier
	v2, err := s.Write(ctx, "/oauth-tokens/p", rec)
	if err != nil || v2 != v1+1 {
		t.Fatalf("second Write = %d, %v; want version %d", v2, err, v1+1)
	}
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/oauth-tokens/p")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Parameter.Type != types.ParameterTypeSecureString {
		t.Errorf("stored parameter type %q; want SecureString", out.Parameter.Type)
	}
	got, err := s.Read(ctx, []string{"/oauth-tokens/p", "/oauth-tokens/missing"})
	if err != nil || len(got) != 1 || got["/oauth-tokens/p"].Record.AccessToken != rec.AccessToken || got["/oauth-tokens/p"].Version != v2 {
		t.Fatalf("Read = %+v, %v; want the advanced record at version %d", got, err, v2)
	}

	// Leases: one holder at a time; an expired lease is taken over.
	now := time.Now()
	release, err := s.Lease(ctx, "/oauth-tokens/p", "run-a", now, time.Minute)
	if err != nil {
		t.Fatalf("Lease = %v", err)
	}
	if _, err := s.Lease(ctx, "/oauth-tokens/p", "run-b", now, time.Minute); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("second Lease = %v; want ErrLeaseHeld", err)
	}
	releaseC, err := s.Lease(ctx, "/oauth-tokens/p", "run-c", now.Add(2*time.Minute), time.Minute)
	if err != nil {
		t.Fatalf("Lease after expiry = %v; want the stale lease taken over", err)
	}
	release(ctx) // run-a's late release leaves run-c's lease alone
	releaseC(ctx)
	r2, err := s.Lease(ctx, "/oauth-tokens/p", "run-d", now, time.Minute)
	if err != nil {
		t.Fatalf("Lease after release = %v", err)
	}
	r2(ctx)
}

// limitSSM refuses every PutParameter as SSM does at the parameter limit.
type limitSSM struct{ fakeSSM }

func (*limitSSM) PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	return nil, &types.ParameterLimitExceeded{Message: aws.String("You have exceeded the number of parameters for this AWS account.")}
}

func TestWriteAtParameterLimit(t *testing.T) {
	_, err := (&Store{API: &limitSSM{}}).Write(context.Background(), "/oauth-tokens/p", record(64))
	if !errors.Is(err, ErrParameterLimit) {
		t.Fatalf("Write = %v; want ErrParameterLimit", err)
	}
	var le *types.ParameterLimitExceeded
	if !errors.As(err, &le) {
		t.Errorf("Write = %v; want the SSM error kept too", err)
	}
	for _, want := range []string{"/oauth-tokens/p", "10,000", "standard tier", "delete parameters", "advanced tier"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Write = %q; want it to say %q", err, want)
		}
	}
}

// TestLeaseNameIsNoRecord checks that a lease parameter can never be taken
// for a profile's record: its last segment is no valid profile name.
func TestLeaseNameIsNoRecord(t *testing.T) {
	for _, name := range []string{tokenrecord.ParameterName("", ".rotator"), tokenrecord.ParameterName("/team", "partner-sandbox")} {
		lease := LeaseName(name)
		last := lease[strings.LastIndex(lease, "/")+1:]
		if !strings.HasSuffix(lease, tokenrecord.LeaseSuffix) || tokenrecord.CheckProfileName(last) == nil {
			t.Errorf("LeaseName(%q) = %q; want a name ending in %q that no profile can have", name, lease, tokenrecord.LeaseSuffix)
		}
	}
}
