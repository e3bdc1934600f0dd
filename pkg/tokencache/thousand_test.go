package tokencache

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

const thousand = 1000

// thousandCallers asks c for testProfile's token from 1,000 goroutines at
// once and checks that each got want.
func thousandCallers(t *testing.T, c *Cache, want string, started func()) {
	t.Helper()
	var wg sync.WaitGroup
	got := make([]string, thousand)
	errs := make([]error, thousand)
	for i := range thousand {
		wg.Go(func() { got[i], errs[i] = c.Source(testProfile).Token(context.Background()) })
	}
	if started != nil {
		started()
	}
	wg.Wait()
	for i := range thousand {
		if errs[i] != nil || got[i] != want {
			t.Fatalf("caller %d: Token(%q) = %q, %v; want %q", i, testProfile, got[i], errs[i], want)
		}
	}
}

// TestThousandColdCallersShareOneRead: 1,000 goroutines that all find the
// cache cold while the read is in flight share that one GetParameter call.
func TestThousandColdCallersShareOneRead(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	f.block, f.started = make(chan struct{}), make(chan string, thousand)
	c, _ := newTestCache(f, clk, Config{})
	thousandCallers(t, c, "token-1", func() {
		<-f.started
		for c.Stats().Misses < thousand { // every caller waits on the one read
			runtime.Gosched()
		}
		close(f.block)
	})
	if n := f.Reads(); n != 1 {
		t.Errorf("GetParameter calls = %d; want 1 for %d cold callers", n, thousand)
	}
	if s := c.Stats(); s.Misses != thousand || s.Reads != 1 {
		t.Errorf("Stats() = %+v; want %d misses sharing 1 read", s, thousand)
	}
}

// TestThousandColdCallersAgainstMoto: the same through the SDK against
// moto, counted by the proxy in front of it: one GetParameter call.
func TestThousandColdCallersAgainstMoto(t *testing.T) {
	moto := mototest.Start(t)
	proxy := moto.Proxy(t)
	admin, _ := moto.Clients(t)
	_, err := admin.PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String("/oauth-tokens/" + testProfile), Value: aws.String(record(t, testProfile, "token-1", time.Now(), time.Hour)),
		Type: types.ParameterTypeSecureString,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mototest.ConfigFor(context.Background(), proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := New(ssm.NewFromConfig(cfg), Config{})
	thousandCallers(t, c, "token-1", nil)
	if n := proxy.Count(mototest.OpGetParameter); n != 1 {
		t.Errorf("GetParameter calls through the proxy = %d; want 1 for %d cold callers", n, thousand)
	}
}
