package perf

import (
	"context"
	"fmt"
	"os"
	"path"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

// Op names the proxy counts that mototest has no constant for.
const opDeleteParameter = "AmazonSSM.DeleteParameter"

// awsRig is the rotator's AWS side against moto: SDK clients built as the
// rotator's main builds them, through a counting proxy, and clients that
// bypass the proxy to set up state.
type awsRig struct {
	moto   *mototest.Server
	proxy  *mototest.Proxy
	ssm    *ssm.Client // through the proxy
	sm     *secretsmanager.Client
	split  *splitSSM // wraps ssm
	direct *tokenstore.Store
}

func newAWSRig(t *testing.T) *awsRig {
	t.Helper()
	r := &awsRig{moto: mototest.Start(t)}
	r.proxy = r.moto.Proxy(t)
	cfg, err := mototest.ConfigFor(context.Background(), r.proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	// As functions/rotator/main.go: the standard retryer with 8 attempts
	// and no client-side retry quota.
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts, o.RateLimiter = 8, ratelimit.None })
	}
	r.ssm, r.sm = ssm.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	r.split = &splitSSM{API: r.ssm}
	directSSM, _ := r.moto.Clients(t)
	r.direct = &tokenstore.Store{API: directSSM}
	return r
}

// seedSecrets stores the fleet's secrets in moto, bypassing the proxy.
func (r *awsRig) seedSecrets(t *testing.T, values map[string]string) {
	t.Helper()
	for id, v := range values {
		if err := r.moto.PutSecret(context.Background(), id, v); err != nil {
			t.Fatal(err)
		}
	}
}

// rotator returns a Rotator over this rig's proxied clients.
func (r *awsRig) rotator(ps []profile.Profile, concurrency int) *rotate.Rotator {
	return &rotate.Rotator{
		Lease:       rotate.RunLease(path.Dir(ps[0].Parameter)),
		Failures:    rotate.FailureRecord(path.Dir(ps[0].Parameter)),
		Profiles:    ps,
		Secrets:     &clientcred.Reader{API: r.sm},
		Store:       &tokenstore.Store{API: r.split},
		Fetcher:     &oauth.Client{},
		Concurrency: concurrency,
		Logger:      discard,
		// Without the quota model: call counts, not time.
		WriteRate: -1,
	}
}

// callCounts is what one run cost.
type callCounts struct {
	getParameters, getSecretValue, putRecord, putLease, deleteParameter, other int
	leaseReads                                                                 int // of getParameters: reads of a lease parameter
	tokens                                                                     int
	wall                                                                       time.Duration
}

func (c callCounts) total() int {
	return c.getParameters + c.getSecretValue + c.putRecord + c.putLease + c.deleteParameter + c.other
}

// measure runs one rotation and counts its calls: the proxy's counts are
// the truth; splitSSM splits PutParameter into records and leases (their
// sum must be the proxy's count).
func (r *awsRig) measure(t *testing.T, rot *rotate.Rotator, idp *oauthtest.Server, req rotate.Request) (callCounts, rotate.Summary) {
	t.Helper()
	r.proxy.Reset()
	r.split.reset()
	tokensBefore := idp.RequestCount()
	start := time.Now()
	sum, err := rot.Run(context.Background(), req)
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	counts := r.proxy.Counts()
	c := callCounts{
		getParameters:   counts[mototest.OpGetParameters],
		getSecretValue:  counts[mototest.OpGetSecretValue],
		putRecord:       int(r.split.putRecord.Load()),
		putLease:        int(r.split.putLease.Load()),
		leaseReads:      int(r.split.getLease.Load()),
		deleteParameter: counts[opDeleteParameter],
		tokens:          idp.RequestCount() - tokensBefore,
		wall:            wall,
	}
	if puts := counts[mototest.OpPutParameter]; puts != c.putRecord+c.putLease {
		t.Errorf("proxy saw %d PutParameter calls; the store made %d record and %d lease puts (retries?)", puts, c.putRecord, c.putLease)
	}
	for op, n := range counts {
		switch op {
		case mototest.OpGetParameters, mototest.OpGetSecretValue, mototest.OpPutParameter, opDeleteParameter:
		default:
			c.other += n
			t.Errorf("unexpected AWS operation %s × %d", op, n)
		}
	}
	return c, sum
}

// TestAPICalls counts the AWS calls of scheduled runs against moto through
// the counting proxy, for N profiles (10 and 100; 1,000 with PERF=1),
// profilesPerSecret to a secret:
//
//   - first run, all N due: ceil(N/10) batched GetParameters, one GetSecretValue
//     per distinct secret, then the run's lease (PutParameter Overwrite=false
//     on <prefix>/.rotator.lock), the due records re-read under it in batches
//     (ceil(N/10) GetParameters), one record per due profile (PutParameter),
//     the release (a read of the lease, DeleteParameter), and one read of the
//     failure record (written only when a profile starts or stops failing);
//   - nothing due: ceil(N/10) GetParameters and nothing else, no lease;
//   - k = N/10 due, sharing k/2 secrets: ceil(N/10)+ceil(k/10) GetParameters
//     (+ the lease read, + the failure record's read), k/2 GetSecretValue,
//     k records, one lease, one release.
func TestAPICalls(t *testing.T) {
	sizes := []int{10, 100}
	if os.Getenv("PERF") == "1" {
		sizes = append(sizes, 1000)
	}
	r := newAWSRig(t)
	idp := oauthtest.NewServer(oauthtest.AVIVCaaS)
	defer idp.Close()

	var rows [][]string
	var last callCounts // the last k-due run, for the per-profile cost
	var lastK, lastBatches int
	for _, n := range sizes {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			ps := fleet(t, n, idp.TokenURL("aviv-caas"), fmt.Sprintf("/perf-calls-%d", n))
			values := secretValues(n, idp)
			r.seedSecrets(t, values)
			rot := r.rotator(ps, 0)
			batches := ceilDiv(n, 10)

			// The contract: ceil(N/10) batched reads; each distinct secret of
			// the due profiles read once; one token and one record per due
			// profile. The rotator's lease: one per run with something due,
			// the due records re-read under it in batches, released once
			// after one read of it (is it still ours?).
			check := func(run string, got callCounts, sum rotate.Summary, k, secrets int) {
				t.Helper()
				// +1 +1: the lease read before the release, the failure record read
				// after a run that refreshed (it stays unwritten: nothing failed).
				want := callCounts{getParameters: batches + ceilDiv(k, 10) + 2, getSecretValue: secrets, putRecord: k, putLease: 1, deleteParameter: 1,
					leaseReads: 1, tokens: k}
				if k == 0 {
					want.leaseReads, want.putLease, want.deleteParameter = 0, 0, 0
					want.getParameters = batches
				}
				got.wall, want.wall = 0, 0
				if got != want || len(sum.Refreshed) != k || len(sum.Failed) != 0 {
					t.Errorf("%s: calls %+v, %d refreshed, %d failed; want %+v, %d refreshed", run, got, len(sum.Refreshed), len(sum.Failed), want, k)
				}
			}
			row := func(run string, k int, c callCounts) []string {
				gp := fmt.Sprintf("%d = %d + %d", c.getParameters, batches, c.getParameters-batches-c.leaseReads)
				if c.leaseReads > 0 {
					gp += fmt.Sprintf(" + %d", c.leaseReads)
				}
				return []string{itoa(n), run, itoa(k), gp,
					itoa(c.getSecretValue), itoa(c.putRecord), itoa(c.putLease), itoa(c.deleteParameter), itoa(c.total()), itoa(c.tokens), ms(c.wall)}
			}

			first, sum := r.measure(t, rot, idp, rotate.Request{})
			check("first run", first, sum, n, len(values))
			rows = append(rows, row("first run (all due)", n, first))

			idle, sum := r.measure(t, rot, idp, rotate.Request{})
			check("nothing due", idle, sum, 0, 0)
			rows = append(rows, row("nothing due", 0, idle))

			// Bring k = N/10 tokens to 5 minutes before expiry, two per
			// secret, as if they had been issued a day ago.
			k := max(1, n/10)
			var names []string
			secrets := map[string]bool{}
			for j := range k {
				i := j * 5
				names = append(names, ps[i].Parameter)
				secrets[ps[i].SecretID] = true
			}
			stored, err := r.direct.Read(context.Background(), names)
			if err != nil {
				t.Fatal(err)
			}
			for name, st := range stored {
				rec := st.Record
				rec.ExpiresAt = time.Now().Add(5 * time.Minute)
				rec.IssuedAt = rec.ExpiresAt.Add(-24 * time.Hour)
				if _, err := r.direct.Write(context.Background(), name, rec); err != nil {
					t.Fatal(err)
				}
			}
			due, sum := r.measure(t, rot, idp, rotate.Request{})
			check("k due", due, sum, k, len(secrets))
			last, lastK, lastBatches = due, k, batches
			rows = append(rows, row("k = N/10 due", k, due))
		})
	}

	rep := newReport(t, "20-api-calls", "AWS calls per scheduled run (moto through the counting proxy)")
	rep.printf("Profiles share a secret %d to 1; the k due profiles share k/2 secrets. GetParameters = batched reads (ceil(N/10))\n"+
		"+ batched re-reads of the due records under the run's lease (ceil(k/10)) [+ the read of the lease before releasing it].\n"+
		"Rotator concurrency %d (the default); token endpoint local, no latency.\n\n", profilesPerSecret, rotate.DefaultConcurrency)
	rep.table([]string{"N", "run", "due", "GetParameters", "GetSecretValue", "Put records", "Put leases", "DeleteParameter", "AWS calls", "token requests", "wall"}, rows)
	if lastK > 0 {
		perRun := last.putLease + last.leaseReads + last.deleteParameter
		perProfile := float64(last.total()-last.getSecretValue-lastBatches-perRun) / float64(lastK)
		rep.printf("A run with k due profiles costs, beyond the batched reads and the secrets, %d SSM calls for its lease (PutParameter\n"+
			"Overwrite=false on <prefix>/.rotator.lock, a read of it before the release, DeleteParameter) and %.1f per due profile\n"+
			"(measured, k = %d): its record (PutParameter) and a tenth of a batched re-read under the lease. The record is the only\n"+
			"write the contract needs; the lease and the re-read keep two overlapping runs from fetching the same token.\n\n",
			perRun, perProfile, lastK)
	}
	rep.done()
}
