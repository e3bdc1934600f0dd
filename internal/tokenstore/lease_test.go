package tokenstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leasetest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

// retriedCreate sends each lease create (Overwrite=false) twice and
// answers with the second result, as the SDK's retry does when SSM applied
// the first but its answer was lost: ParameterAlreadyExists.
type retriedCreate struct{ tokenstore.API }

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
		_, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(tokenstore.LeaseName(name)), Value: aws.String(value),
			Type: types.ParameterTypeString, Overwrite: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
	}
	leaseValue := func(t *testing.T, name string) (string, bool) {
		t.Helper()
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tokenstore.LeaseName(name))})
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
		_, err := (&tokenstore.Store{API: client}).Lease(ctx, name, "run-b", now, time.Minute)
		if !errors.Is(err, tokenstore.ErrLeaseHeld) {
			t.Fatalf("Lease over a live lease = %v; want tokenstore.ErrLeaseHeld", err)
		}
		if v, _ := leaseValue(t, name); v != live {
			t.Errorf("lease = %q after a refused Lease; want it untouched (%q)", v, live)
		}
	})

	t.Run("a create whose answer was lost and whose retry found the lease is ours", func(t *testing.T) {
		const name = "/leases/lost-answer"
		release, err := (&tokenstore.Store{API: retriedCreate{API: client}}).Lease(ctx, name, "run-a", now, time.Minute)
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
			release, err := (&tokenstore.Store{API: client}).Lease(ctx, name, "run-b", now, time.Minute)
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

	t.Run("three runs over one expired lease: the loser of the take-over does not shorten the winner's lease", func(t *testing.T) {
		const name = "/leases/race"
		putLease(t, name, "dead-run "+now.Add(-time.Second).Format(time.RFC3339Nano))
		// Runs a and b both find the dead run's lease expired and reach
		// their take-over; a's completes first (a 10-minute lease), then
		// b's (a 1-minute one).
		aAt, bAt, aGo, bGo := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
		a := &tokenstore.Store{API: leasetest.GatedTakeOver{API: client, Before: func() { close(aAt); <-aGo }}}
		b := &tokenstore.Store{API: leasetest.GatedTakeOver{API: client, Before: func() { close(bAt); <-bGo }}}
		type result struct {
			release func(context.Context)
			err     error
		}
		ra, rb := make(chan result, 1), make(chan result, 1)
		go func() { rel, err := a.Lease(ctx, name, "run-a", now, 10*time.Minute); ra <- result{rel, err} }()
		<-aAt
		go func() { rel, err := b.Lease(ctx, name, "run-b", now, time.Minute); rb <- result{rel, err} }()
		<-bAt
		close(aGo)
		first := <-ra
		close(bGo)
		second := <-rb
		if first.err != nil {
			t.Fatalf("run a: Lease = %v; want the expired lease taken over", first.err)
		}
		if !errors.Is(second.err, tokenstore.ErrLeaseHeld) {
			if second.err == nil {
				second.release(ctx)
			}
			t.Fatalf("run b: Lease = %v while run a holds the lease; want tokenstore.ErrLeaseHeld (both runs would fetch the token)", second.err)
		}
		// Run b's losing write left its own value, with its 1-minute
		// expiry, in the lease. A run c two minutes on, while run a still
		// works under its 10-minute lease, must not take it over.
		if rel, err := (&tokenstore.Store{API: client}).Lease(ctx, name, "run-c", now.Add(2*time.Minute), time.Minute); !errors.Is(err, tokenstore.ErrLeaseHeld) {
			if err == nil {
				rel(ctx)
			}
			t.Fatalf("run c: Lease 2 minutes on, while run a's 10-minute lease lasts = %v; want tokenstore.ErrLeaseHeld (runs a and c would both fetch)", err)
		}
		// Run a's release leaves the lease (its value is b's), which
		// lasts until run a's expiry; then it is taken over.
		first.release(ctx)
		if _, err := (&tokenstore.Store{API: client}).Lease(ctx, name, "run-d", now.Add(9*time.Minute), time.Minute); !errors.Is(err, tokenstore.ErrLeaseHeld) {
			t.Errorf("run d: Lease before run a's lease expired = %v; want tokenstore.ErrLeaseHeld", err)
		}
		release, err := (&tokenstore.Store{API: client}).Lease(ctx, name, "run-d", now.Add(11*time.Minute), time.Minute)
		if err != nil {
			t.Fatalf("Lease after run a's lease expired = %v", err)
		}
		release(ctx)
		if v, ok := leaseValue(t, name); ok {
			t.Errorf("lease = %q after run d released it; want it deleted", v)
		}
	})
	t.Run("a take-over that lost to a released and re-created lease does not hold it", func(t *testing.T) {
		const name = "/leases/recreated"
		putLease(t, name, "dead-run "+now.Add(-time.Second).Format(time.RFC3339Nano))
		// Runs a and b both find the dead run's lease (version 1) expired;
		// b pauses before its take-over. a takes it over (version 2),
		// works and releases it (deletes it); c creates a fresh lease,
		// which SSM numbers version 1 again. b's overwrite then makes
		// version 2, right after the version it found: b must still see
		// that it overwrote c's lease, not the dead run's.
		bAt, bGo := make(chan struct{}), make(chan struct{})
		b := &tokenstore.Store{API: leasetest.GatedTakeOver{API: client, Before: func() { close(bAt); <-bGo }}}
		rb := make(chan error, 1)
		go func() {
			rel, err := b.Lease(ctx, name, "run-b", now, time.Minute)
			if err == nil {
				rel(ctx)
			}
			rb <- err
		}()
		<-bAt
		releaseA, err := (&tokenstore.Store{API: client}).Lease(ctx, name, "run-a", now, time.Minute)
		if err != nil {
			t.Fatalf("run a: Lease over the dead run's expired lease = %v; want it taken over", err)
		}
		releaseA(ctx)
		releaseC, err := (&tokenstore.Store{API: client}).Lease(ctx, name, "run-c", now, time.Minute)
		if err != nil {
			t.Fatalf("run c: Lease after run a released it = %v; want a fresh lease", err)
		}
		defer releaseC(ctx)
		close(bGo)
		if err := <-rb; !errors.Is(err, tokenstore.ErrLeaseHeld) {
			t.Fatalf("run b: Lease = %v while run c holds the lease created after a's release; want tokenstore.ErrLeaseHeld (runs b and c would both fetch)", err)
		}
	})
}
