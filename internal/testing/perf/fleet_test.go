package perf

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
)

const (
	fleetContainers = 1000
	containerLife   = 10 * time.Minute
	callEvery       = 10 * time.Second // each container calls the partner API this often
	fleetSpan       = 48 * time.Hour
	rotatorEvery    = 5 * time.Minute
)

// countingTokenEndpoint is an httptest token endpoint that issues tokens of
// a fixed lifetime and counts the requests.
type countingTokenEndpoint struct {
	*httptest.Server
	requests atomic.Int64
}

func newCountingTokenEndpoint(lifetime time.Duration) *countingTokenEndpoint {
	e := &countingTokenEndpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.requests.Add(1)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"xo-%d","token_type":"Bearer","expires_in":%d}`, n, int(lifetime.Seconds()))
	}))
	return e
}

// fleetCounts is one approach's cost over the whole simulation.
type fleetCounts struct {
	containers, calls                    int
	tokenRequests, ssmReads, secretReads int
	consumerReads, rotatorReads          int
	ssmWrites                            int
	peakSSMReadsPerSec                   float64
	peakTokenRequestsPerSec              float64
}

// simulateFleet runs fleetContainers consumer containers, each living
// containerLife and calling the partner API every callEvery, for fleetSpan
// of simulated time, both ways at once:
//
//   - ours: the rotator every rotatorEvery (real Rotator and tokenstore over
//     the in-memory SSM, fetcher fakes) and in each container a new real
//     tokencache.Cache over the same SSM, on the simulated clock;
//   - x/oauth2: in each container a new clientcredentials TokenSource (a
//     ReuseTokenSource) against a counting httptest token endpoint.
//
// Container slot j starts its first container at j*containerLife/N
// (rounded to callEvery), so the fleet ramps up over the first lifetime,
// as a deployment does, and replaces each container when it ends.
func simulateFleet(t *testing.T, lifetime time.Duration) (ours, xo fleetCounts) {
	t.Helper()
	clk := newSimClock(simStart)
	mem := newMemSSM()
	secrets := &memSecrets{values: secretValues(1, nil)}
	fetch := &simFetcher{lifetime: lifetime}
	ps := fleet(t, 1, "https://auth.example.com/oauth/token", "/fleet")
	rot := &rotate.Rotator{Profiles: ps, Secrets: &clientcred.Reader{API: secrets}, Store: &tokenstore.Store{API: mem},
		Fetcher: fetch, Now: clk.Now, Logger: discard, Lease: rotate.RunLease("/fleet"), Sleep: noSleep}
	profileName := ps[0].Name

	endpoint := newCountingTokenEndpoint(lifetime)
	defer endpoint.Close()
	clientID, clientSecret := clientFor(0)
	xoConfig := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: endpoint.URL,
		EndpointParams: url.Values{"audience": {oauthtest.AVIVCaaS.Audiences[0]}, "intermediary_id": {"agency-0000"}}}
	xoCtx := context.WithValue(context.Background(), oauth2.HTTPClient, endpoint.Client())

	type container struct {
		cache *tokencache.Cache
		xo    oauth2.TokenSource
	}
	slots := make([]container, fleetContainers)
	lifeSteps := int(containerLife / callEvery)
	steps := int(fleetSpan / callEvery)
	ctx := context.Background()
	for s := range steps {
		at := time.Duration(s) * callEvery
		clk.Set(simStart.Add(at))
		if at%rotatorEvery == 0 {
			if _, err := rot.Run(ctx, rotate.Request{}); err != nil {
				t.Fatalf("rotator at +%s: %v", at, err)
			}
		}
		readsBefore, xoBefore := mem.getParameter.Load(), endpoint.requests.Load()
		for j := range slots {
			first := j * lifeSteps / fleetContainers
			if s < first {
				continue // not deployed yet
			}
			c := &slots[j]
			if (s-first)%lifeSteps == 0 { // a new container
				c.cache = tokencache.New(mem, tokencache.Config{Prefix: "/fleet", Now: clk.Now, Logger: discard})
				c.xo = xoConfig.TokenSource(xoCtx)
				ours.containers++
				xo.containers++
			}
			if tok, err := c.cache.Source(profileName).Token(ctx); err != nil || tok == "" {
				t.Fatalf("+%s container %d: tokencache Token = %q, %v", at, j, tok, err)
			}
			if tok, err := c.xo.Token(); err != nil || !tok.Valid() {
				t.Fatalf("+%s container %d: x/oauth2 Token = %v, %v", at, j, tok, err)
			}
			ours.calls++
			xo.calls++
		}
		ours.peakSSMReadsPerSec = max(ours.peakSSMReadsPerSec, float64(mem.getParameter.Load()-readsBefore)/callEvery.Seconds())
		xo.peakTokenRequestsPerSec = max(xo.peakTokenRequestsPerSec, float64(endpoint.requests.Load()-xoBefore)/callEvery.Seconds())
	}
	ours.tokenRequests = int(fetch.calls.Load())
	ours.consumerReads, ours.rotatorReads = int(mem.getParameter.Load()), int(mem.getParameters.Load())
	ours.ssmReads = ours.consumerReads + ours.rotatorReads
	ours.ssmWrites = int(mem.putRecord.Load() + mem.putLease.Load() + mem.deleteParameter.Load())
	ours.secretReads = int(secrets.reads.Load())
	xo.tokenRequests = int(endpoint.requests.Load())
	xo.secretReads = xo.containers // each container needs the client secret: one read at start
	return ours, xo
}

// TestFleet compares, per day, what a fleet of consumer containers costs
// with the rotator and the cache against every container fetching its own
// token with golang.org/x/oauth2, on simulated time.
//
// Method: tokencache and the rotator take the simulated clock. x/oauth2
// cannot (its expiry check calls time.Now): its tokens expire on the real
// clock, expires_in after they were fetched. A container lives 10 simulated
// minutes, less than any token lifetime here, and the whole simulation takes
// seconds of real time, so on either clock no token expires within its
// container: lifetime arithmetic (ceil(10 min / (lifetime - 10 s expiry
// delta)) = 1 request per container) and the real x/oauth2 agree, and the
// test checks that they do.
func TestFleet(t *testing.T) {
	needPerf(t)
	days := fleetSpan.Hours() / 24
	var rows [][]string
	var readNotes []string
	for _, lifetime := range []time.Duration{24 * time.Hour, time.Hour} {
		start := time.Now()
		ours, xo := simulateFleet(t, lifetime)
		if xo.tokenRequests != xo.containers {
			t.Errorf("x/oauth2 made %d token requests for %d containers; lifetime arithmetic says one each", xo.tokenRequests, xo.containers)
		}
		perDay := func(n int) string {
			if d := float64(n) / days; d < 10 {
				return fmt.Sprintf("%.1f", d)
			}
			return fmt.Sprintf("%.0f", float64(n)/days)
		}
		life := fmt.Sprintf("%.0f h", lifetime.Hours())
		rows = append(rows,
			[]string{life, "rotator + tokencache", perDay(ours.containers), perDay(ours.calls), perDay(ours.tokenRequests), perDay(ours.ssmReads), perDay(ours.ssmWrites), perDay(ours.secretReads), fmt.Sprintf("%.1f", ours.peakSSMReadsPerSec), "0"},
			[]string{life, "x/oauth2 per container", perDay(xo.containers), perDay(xo.calls), perDay(xo.tokenRequests), "0", "0", perDay(xo.secretReads) + " *", "0", fmt.Sprintf("%.1f", xo.peakTokenRequestsPerSec)},
			[]string{life, "ratio x/oauth2 : ours", "", "", fmt.Sprintf("%.0f : 1", float64(xo.tokenRequests)/float64(ours.tokenRequests)), "", "", fmt.Sprintf("%.0f : 1", float64(xo.secretReads)/float64(max(1, ours.secretReads))), "", ""})
		progressf("fleet: %s tokens: ours %d token requests, x/oauth2 %d (simulated %s in %s)", life, ours.tokenRequests, xo.tokenRequests, human(fleetSpan), time.Since(start).Round(100*time.Millisecond))
		readNotes = append(readNotes, fmt.Sprintf("%s tokens: %s consumer GetParameter (%.2f per container) + %s rotator GetParameters",
			life, perDay(ours.consumerReads), float64(ours.consumerReads)/float64(ours.containers), perDay(ours.rotatorReads)))
	}
	rep := newReport(t, "70-fleet", fmt.Sprintf("Fleet: %d consumer containers living %s each, one profile, %s simulated (per day)", fleetContainers, human(containerLife), human(fleetSpan)))
	rep.printf("Each container calls the partner API every %s; when it ends, a new one starts (the fleet ramps up over the\n"+
		"first %s). Ours: the rotator every %s and a tokencache.Cache per container (defaults: 5 min MaxAge) over a counting\n"+
		"in-memory SSM, on a simulated clock. x/oauth2: a clientcredentials TokenSource per container against a counting httptest\n"+
		"token endpoint (x/oauth2 expires tokens on the real clock; no token outlives its 10-minute container on either clock, so\n"+
		"the count is one request per container, which the test checks). Peaks are per second over a 10-second step.\n"+
		"* assumes each container reads its client secret from Secrets Manager once at start; ours never gives consumers the secret.\n\n",
		human(callEvery), human(containerLife), human(rotatorEvery))
	rep.table([]string{"token lifetime", "approach", "containers", "partner calls", "token requests", "SSM reads", "SSM writes", "secret reads", "peak SSM reads/s", "peak token requests/s"}, rows)
	rep.printf("SSM reads per day: %s.\n\n", strings.Join(readNotes, "; "))
	rep.done()
}
