package perf

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// burstRetryer is how a cold consumer's SSM client retries.
type burstRetryer struct {
	name string
	new  func() aws.Retryer // nil: the SDK's default (3 attempts, client-side retry quota)
}

var burstRetryers = []burstRetryer{
	{"functions/consumer's (standard, no retry quota, 1 s max backoff)", func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter, o.Backoff = ratelimit.None, retry.NewExponentialJitterBackoff(time.Second)
		})
	}},
	{"the SDK's default (3 attempts, retry quota)", nil},
}

// burstResult is what n cold consumers starting at once saw.
type burstResult struct {
	served         int
	p50, p99, slow time.Duration // of the served ones
	throttled      int           // GetParameter calls the quota model refused
	failure        string        // one failure's error, if any
}

// coldBurst starts n consumers at once, each a cold container: its own SSM
// client and tokencache.Cache (default configuration: 10 s read timeout),
// asking for the same profile's token through moto behind the quota model
// (reads 40 TPS shared).
func coldBurst(t *testing.T, r *awsRig, n int, br burstRetryer) burstResult {
	t.Helper()
	cfg, err := mototest.ConfigFor(context.Background(), r.proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	if br.new != nil {
		cfg.Retryer = br.new
	}
	caches := make([]*tokencache.Cache, n)
	for i := range caches {
		caches[i] = tokencache.New(ssm.NewFromConfig(cfg), tokencache.Config{Prefix: "/burst", Logger: discard})
	}
	r.proxy.SetQuotas(mototest.DefaultQuotas(mototest.PutTPS)...) // every bucket full, as after a quiet spell
	throttledBefore := r.proxy.Throttled(mototest.OpGetParameter)
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			_, errs[i] = caches[i].Source("agency-0000").Token(context.Background())
			lat[i] = time.Since(t0)
		}()
	}
	close(start)
	wg.Wait()
	var res burstResult
	var ok []time.Duration
	for i, err := range errs {
		if err == nil {
			ok = append(ok, lat[i])
		} else if res.failure == "" {
			res.failure = err.Error()
		}
	}
	res.served = len(ok)
	res.throttled = r.proxy.Throttled(mototest.OpGetParameter) - throttledBefore
	if len(ok) > 0 {
		slices.Sort(ok)
		res.p50, res.p99, res.slow = ok[len(ok)/2], ok[(len(ok)*99)/100], ok[len(ok)-1]
	}
	return res
}

// newBurstRig is moto with one stored token record, /burst/agency-0000.
func newBurstRig(t *testing.T) *awsRig {
	t.Helper()
	r := newAWSRig(t)
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := r.direct.Write(context.Background(), tokenrecord.ParameterName("/burst", "agency-0000"), tokenrecord.Record{
		AccessToken: "burst-token-0123456789", TokenType: "Bearer", Profile: "agency-0000", IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestColdBurstServed is the regression test of the read side: 300 cold
// consumers at once against the 40 TPS read quota (7.5 s of reads) are all
// served within the cache's 10 s read timeout, with the consumer
// function's SSM client.
func TestColdBurstServed(t *testing.T) {
	if testing.Short() || os.Getenv("PERF") == "1" {
		t.Skip("make test only (make bench measures it in TestColdBurst)")
	}
	r := newBurstRig(t)
	res := coldBurst(t, r, 300, burstRetryers[0])
	if res.served != 300 || res.throttled == 0 {
		t.Fatalf("%d of 300 served (%s), %d reads throttled; want all served, through throttling", res.served, res.failure, res.throttled)
	}
	t.Logf("300 cold consumers: p50 %s, p99 %s, %d throttled reads", res.p50, res.p99, res.throttled)
}

// TestColdBurst measures scale-outs of cold consumers under the read quota.
func TestColdBurst(t *testing.T) {
	needPerf(t)
	r := newBurstRig(t)
	var rows [][]string
	for _, br := range burstRetryers {
		for _, n := range []int{100, 300, 1000} {
			time.Sleep(2 * time.Second) // let the last burst's connections settle
			res := coldBurst(t, r, n, br)
			progressf("cold burst: %d consumers, %s: %d served, p99 %s", n, br.name, res.served, ms(res.p99))
			rows = append(rows, []string{br.name, itoa(n), fmt.Sprintf("%d (%.0f%%)", res.served, 100*float64(res.served)/float64(n)),
				ms(res.p50), ms(res.p99), ms(res.slow), itoa(res.throttled), fmt.Sprintf("%.1f s", float64(n)/mototest.ReadTPS)})
		}
	}
	rep := newReport(t, "65-cold-burst", "Consumers under the read quota: N cold consumers at once (scale-out)")
	rep.printf("Under the quota model: SSM reads 40 TPS shared per account (burst 40). Each consumer is a cold container in\n" +
		"this process: its own SSM client and tokencache.Cache (defaults: 10 s read timeout, jittered backoff on\n" +
		"ThrottlingException), one GetParameter of the same record through moto. Floor = N / 40 TPS; past 10 s of reads\n" +
		"(about 400 consumers at once) the rest fail their first Token call and are served on a later one.\n\n")
	rep.table([]string{"SSM client retryer", "consumers", "served", "p50", "p99", "slowest", "throttled reads", "floor"}, rows)
	rep.done()
}
