package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leasetest"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

// gateTakeOver returns a store wrapper for faultEnv.handler that holds the
// run at its take-over of the lease: it closes at, then waits for proceed.
func gateTakeOver(at, proceed chan struct{}) func(rotate.Store) rotate.Store {
	return func(s rotate.Store) rotate.Store {
		ts := s.(*tokenstore.Store)
		ts.API = leasetest.GatedTakeOver{API: ts.API, Before: func() { close(at); <-proceed }}
		return ts
	}
}

// takeOverRace proves against moto that three overlapping runs never fetch
// one profile twice when two of them race to take over a dead run's lease:
// runs A and B both find it expired; A wins with a 55 s lease, B loses,
// but B's overwrite leaves B's own 18 s expiry in the lease; run C, 40 s
// on by its clock and while A is still fetching, must respect A's lease.
func takeOverRace(t *testing.T, e *faultEnv) {
	const prefix = "/faults/takeover"
	e.secret(t, "faults-takeover/p", "takeover-client", "Tk3Ov5Er7Ra9Ce1Lo3Se")
	doc := "profiles:\n  - name: p\n    token_url: " + e.idp.TokenURL("partner") + "\n    secret_id: faults-takeover/p\n    headers: {Accept: application/json}\n"
	_, err := e.admin.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(tokenstore.LeaseName(rotate.RunLease(prefix))),
		Value: aws.String("dead-run " + time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)), Type: types.ParameterTypeString})
	if err != nil {
		t.Fatal(err)
	}
	before := e.requestsByClient()["takeover-client"]

	aAt, aGo, bAt, bGo := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	gate := &gatedFetcher{next: &oauth.Client{}, started: make(chan string, 2), release: make(chan struct{})}
	a := e.handler(t, doc, prefix, gate, gateTakeOver(aAt, aGo))
	b := e.handler(t, doc, prefix, nil, gateTakeOver(bAt, bGo))
	c := e.handler(t, doc, prefix, nil, nil)
	c.rotator.Now = func() time.Time { return time.Now().Add(40 * time.Second) }
	results := map[string]chan runResult{"A": make(chan runResult, 1), "B": make(chan runResult, 1)}
	invoke := func(name string, h *handler, timeout time.Duration) {
		sum, err := e.invokeWithin(t, h, scheduled, timeout)
		results[name] <- runResult{sum, err}
	}
	go invoke("A", a, 60*time.Second) // a 55 s lease (the handler keeps 5 s to answer)
	receive(t, aAt, 1, "run A at its take-over")
	go invoke("B", b, 20*time.Second) // an 18 s lease
	receive(t, bAt, 1, "run B at its take-over")
	close(aGo) // A takes the lease over and starts fetching
	receive(t, gate.started, 1, "run A's token request")
	close(bGo) // B's take-over loses, but its value stays in the lease
	rb := receive(t, results["B"], 1, "run B")[0]

	sumC, errC := e.invoke(t, c, scheduled)
	close(gate.release)
	ra := receive(t, results["A"], 1, "run A")[0]
	if ra.err != nil || len(ra.sum.Refreshed) != 1 {
		t.Errorf("run A = %+v, %v; want p refreshed", ra.sum, ra.err)
	}
	for name, r := range map[string]runResult{"B": rb, "C": {sumC, errC}} {
		if r.err != nil || len(r.sum.Skipped) != 1 || r.sum.Skipped[0].Reason != "another rotator run is refreshing tokens" {
			answer, _ := json.Marshal(r.sum)
			t.Errorf("run %s = %s, %v; want p skipped for the lease run A holds", name, answer, r.err)
		}
	}
	if n := e.requestsByClient()["takeover-client"] - before; n != 1 {
		t.Errorf("%d token requests for p by three overlapping runs; want 1", n)
	}
}
