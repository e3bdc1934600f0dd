package perf

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/orgtest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// TestCrossAccountColdStart measures what reading from another account
// costs a cold consumer: the host build of the consumer bootstrap, started
// through lambdatest's Runtime API against moto on loopback, once as a
// consumer in the rotator's account and once in a workload account reading
// through the reader role (TOKEN_READER_ROLE_ARN: one AssumeRole, then one
// GetParameter, on the first invocation), interleaved so that load hits
// both alike. It reports the medians of init (process start to the first
// /next) and of the first invocation, and their ratios. On loopback an
// AWS call costs far less than in AWS: in a real account, add one STS
// round trip (the first invocation's only extra call) to the difference.
func TestCrossAccountColdStart(t *testing.T) {
	needPerf(t)
	const rounds, profile = 30, "aviv-caas-agency-42"
	moto := mototest.Start(t)
	proxy := moto.Proxy(t)
	seed, _ := moto.Clients(t)
	now := time.Now()
	rec, err := tokenrecord.Marshal(tokenrecord.Record{AccessToken: "eyJ-perf-cross-account", TokenType: "Bearer", Profile: profile,
		IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(tokenrecord.ParameterName("", profile)),
		Value: aws.String(string(rec)), Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	org := orgtest.Setup(t, proxy, map[string]string{"CrossAccountReaderAccounts": orgtest.Workload})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{}`)) }))
	defer api.Close()
	event, err := os.ReadFile("../../../events/consumer.json")
	if err != nil {
		t.Fatal(err)
	}
	bin := bootstrap(t, "host", "consumer")
	app := []string{"PROFILE=" + profile, "API_BASE_URL=" + api.URL}
	variants := []struct {
		name string
		env  []string
	}{
		{"same account (execution role)", append(mototest.EnvFor(proxy.URL), app...)},
		{"other account (reader role)", append(append(org.Env(org.MustCredentials(t, orgtest.Workload), mototest.Region), app...),
			"TOKEN_READER_ROLE_ARN="+org.Reader.ARN, "TOKEN_REGION="+mototest.Region)},
	}
	inits, firsts := make([][]time.Duration, len(variants)), make([][]time.Duration, len(variants))
	for i := range rounds + 1 {
		for v, variant := range variants {
			proxy.Reset()
			init, first := coldInvoke(t, bin, variant.env, event)
			if n := proxy.Count(mototest.OpAssumeRole); n != v {
				t.Fatalf("%s: %d AssumeRole calls; want %d", variant.name, n, v)
			}
			if i > 0 { // the first round pays for the page cache
				inits[v], firsts[v] = append(inits[v], init), append(firsts[v], first)
			}
		}
	}
	var rows [][]string
	med := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	for v, variant := range variants {
		rows = append(rows, []string{variant.name, ms1(med(inits[v])), ms1(med(firsts[v])), ms1(med(inits[v]) + med(firsts[v]))})
	}
	ratio := func(col func(int) time.Duration) string { return fmt.Sprintf("%.2fx", float64(col(1))/float64(col(0))) }
	rows = append(rows, []string{"ratio, other / same",
		ratio(func(v int) time.Duration { return med(inits[v]) }),
		ratio(func(v int) time.Duration { return med(firsts[v]) }),
		ratio(func(v int) time.Duration { return med(inits[v]) + med(firsts[v]) })})
	progressf("cross-account cold start: %v", rows)
	rep := newReport(t, "62-cross-account-cold-start", "Cold start of a consumer in another account")
	rep.printf("The consumer bootstrap (host build) through lambdatest's Runtime API against moto on loopback, %d cold starts\n"+
		"of each, interleaved, after one unmeasured round: init is process start to the first /next; the first invocation\n"+
		"reads the record (same account: one GetParameter; other account: one AssumeRole, then one GetParameter).\n\n", rounds)
	rep.table([]string{"consumer", "median init", "median first invocation", "sum"}, rows)
	rep.done()
}

// coldInvoke starts bin, waits for its init and times its first
// invocation, which must answer status 200.
func coldInvoke(t *testing.T, bin string, env []string, event []byte) (init, first time.Duration) {
	t.Helper()
	ctx, rt, init, done := launchCold(t, bin, env)
	defer done()
	start := time.Now()
	res, err := rt.Invoke(ctx, event)
	first = time.Since(start)
	if err != nil || res.Err != nil || !slices.Contains([]string{`{"status":200,"body":"{}"}`}, string(res.Payload)) {
		t.Fatalf("first invocation = %s, %v, %v; want status 200", res.Payload, res.Err, err)
	}
	return init, first
}
