package tokenstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

// pausingSSM calls afterLeaseRead after each GetParameters of a lease, so a
// test can hold a run at that point of Lease while another one goes on.
type pausingSSM struct {
	API
	afterLeaseRead func()
}

func (p pausingSSM) GetParameters(ctx context.Context, in *ssm.GetParametersInput, opts ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	out, err := p.API.GetParameters(ctx, in, opts...)
	if len(in.Names) == 1 && strings.HasSuffix(in.Names[0], ".lock") && p.afterLeaseRead != nil {
		p.afterLeaseRead()
	}
	return out, err
}

// retriedCreate sends each lease create (Overwrite=false) twice and
// answers with the second result, as the SDK's retry does when SSM applied
// the first but its answer was lost: ParameterAlreadyExists.
type retriedCreate struct{ API }

func (r retriedCreate) PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	out, err := r.API.PutParameter(ctx, in, opts...)
	if err != nil || aws.ToBool(in.Overwrite) || !strings.HasSuffix(aws.ToString(in.Name), ".lock") {
		return out, err
	}
	return r.API.PutParameter(ctx, in, opts...)
}

// TestLeasesAgainstMoto checks the lease rules against SSM as moto
// implements it: a live lease is respected, an expired or unreadable one
// (its holder died) is taken over, and two runs that find the same expired
// lease at once never both take it.
func TestLeasesAgainstMoto(t *testing.T) {
	srv := mototest.Start(t)
	client, _ := srv.Clients(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	putLease := func(t *testing.T, name, value string) {
		t.Helper()
		_, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(LeaseName(name)), Value: aws.String(value),
			Type: types.ParameterTypeString, Overwrite: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
	}
	leaseValue := func(t *testing.T, name string) (string, bool) {
		t.Helper()
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(LeaseName(name))})
		var nf *types.ParameterNotFound
		if errors.As(err, &nf) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Parameter.Value), true
	}

	t.Run("live lease of another run is respected", func(t *testing.T) {
		const name = "/leases/live"
		live := "run-a " + now.Add(time.Minute).Format(time.RFC3339Nano)
		putLease(t, name, live)
		_, err := (&Store{API: client}).Lease(ctx, name, "run-b", now, time.Minute)
		if !errors.Is(err, ErrLeaseHeld) {
			t.Fatalf("Lease over a live lease = %v; want ErrLeaseHeld", err)
		}
		if v, _ := leaseValue(t, name); v != live {
			t.Errorf("lease = %q after a refused Lease; want it untouched (%q)", v, live)
		}
	})

	t.Run("a create whose answer was lost and whose retry found the lease is ours", func(t *testing.T) {
		const name = "/leases/lost-answer"
		release, err := (&Store{API: retriedCreate{API: client}}).Lease(ctx, name, "run-a", now, time.Minute)
		if err != nil {
			t.Fatalf("Lease = %v; want the lease (the value SSM holds is this run's own)", err)
		}
		release(ctx)
		if v, ok := leaseValue(t, name); ok {
			t.Errorf("lease = %q after release; want it deleted", v)
		}
	})

	for _, tt := range []struct{ name, value string }{
		{"expired lease of a dead run is taken over", "dead-run " + now.Add(-time.Second).Format(time.RFC3339Nano)},
		{"unreadable lease is taken over", "garbage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := "/leases/" + strings.ReplaceAll(tt.name, " ", "-")
			putLease(t, name, tt.value)
			release, err := (&Store{API: client}).Lease(ctx, name, "run-b", now, time.Minute)
			if err != nil {
				t.Fatalf("Lease over %q = %v; want the lease taken over", tt.value, err)
			}
			if v, _ := leaseValue(t, name); !strings.HasPrefix(v, "run-b#") {
				t.Errorf("lease = %q; want it held by run-b", v)
			}
			release(ctx)
			if v, ok := leaseValue(t, name); ok {
				t.Errorf("lease = %q after release; want it deleted", v)
			}
		})
	}

	t.Run("two runs taking over one expired lease: only one holds it", func(t *testing.T) {
		const name = "/leases/race"
		putLease(t, name, "dead-run "+now.Add(-time.Second).Format(time.RFC3339Nano))
		aRead, bRead, aDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
		// Both runs read the expired lease before either acts on it; then
		// run a completes its take-over, then run b tries its own.
		// Each pause happens once: release reads the lease again.
		var onceA, onceB sync.Once
		a := &Store{API: pausingSSM{API: client, afterLeaseRead: func() { onceA.Do(func() { close(aRead); <-bRead }) }}}
		b := &Store{API: pausingSSM{API: client, afterLeaseRead: func() { onceB.Do(func() { close(bRead); <-aDone }) }}}
		type result struct {
			release func(context.Context)
			err     error
		}
		ra, rb := make(chan result, 1), make(chan result, 1)
		go func() { rel, err := a.Lease(ctx, name, "run-a", now, time.Minute); ra <- result{rel, err} }()
		<-aRead
		go func() { rel, err := b.Lease(ctx, name, "run-b", now, time.Minute); rb <- result{rel, err} }()
		first := <-ra
		close(aDone)
		second := <-rb
		if first.err != nil {
			t.Fatalf("run a: Lease = %v; want the expired lease taken over", first.err)
		}
		if !errors.Is(second.err, ErrLeaseHeld) {
			if second.err == nil {
				second.release(ctx)
			}
			t.Fatalf("run b: Lease = %v while run a holds the lease; want ErrLeaseHeld (both runs would fetch the token)", second.err)
		}
		if _, err := (&Store{API: client}).Lease(ctx, name, "run-c", now, time.Minute); !errors.Is(err, ErrLeaseHeld) {
			t.Errorf("run c: Lease while run a holds the lease = %v; want ErrLeaseHeld", err)
		}
		// Run b's losing overwrite left its own value in the lease, so run
		// a's release does not delete it (it deletes only its own value):
		// the lease stays until it expires, and nobody holds it twice.
		first.release(ctx)
		if _, err := (&Store{API: client}).Lease(ctx, name, "run-d", now, time.Minute); !errors.Is(err, ErrLeaseHeld) {
			t.Errorf("run d: Lease before the leftover lease expires = %v; want ErrLeaseHeld", err)
		}
		release, err := (&Store{API: client}).Lease(ctx, name, "run-d", now.Add(2*time.Minute), time.Minute)
		if err != nil {
			t.Fatalf("Lease after the leftover lease expired = %v", err)
		}
		release(ctx)
		if v, ok := leaseValue(t, name); ok {
			t.Errorf("lease = %q after run d released it; want it deleted", v)
		}
	})
}
