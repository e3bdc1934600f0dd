package oauthtest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
)

func partnerRequest(srv *oauthtest.Server) oauth.Request {
	return oauth.Request{TokenURL: srv.TokenURL("partner"), ClientID: "client", ClientSecret: "secret-secret",
		Headers: map[string]string{"Accept": "application/json"}}
}

// TestSetLatency: every answer waits the latency, concurrent requests wait
// it side by side rather than one after another, a caller that gives up
// early gets no token, and SetLatency(0) answers at once again.
func TestSetLatency(t *testing.T) {
	const latency = 150 * time.Millisecond
	srv := oauthtest.NewServer(oauthtest.PartnerAPI)
	defer srv.Close()
	srv.AddClient("client", "secret-secret")
	client := &oauth.Client{MaxAttempts: 1}
	srv.SetLatency(latency)

	const n = 8
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	took := make([]time.Duration, n)
	for i := range n {
		wg.Go(func() {
			t0 := time.Now()
			_, errs[i] = client.Fetch(context.Background(), partnerRequest(srv))
			took[i] = time.Since(t0)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || took[i] < latency {
			t.Errorf("request %d: Fetch = %v after %v; want a token after at least %v", i, errs[i], took[i], latency)
		}
	}
	// Served side by side: n one after another would take n*latency.
	if all := time.Since(start); all >= n*latency {
		t.Errorf("%d concurrent requests took %v; want them to wait side by side (less than %v)", n, all, n*latency)
	}

	impatient := &oauth.Client{MaxAttempts: 1, RequestTimeout: latency / 5}
	if _, err := impatient.Fetch(context.Background(), partnerRequest(srv)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Fetch with a request timeout shorter than the latency = %v; want context.DeadlineExceeded", err)
	}

	srv.SetLatency(0)
	if _, err := client.Fetch(context.Background(), partnerRequest(srv)); err != nil {
		t.Errorf("Fetch after SetLatency(0) = %v; want a token", err)
	}
	if got := len(srv.IssuedTokens()); got != n+1 {
		t.Errorf("issued %d tokens; want %d (none for the request that gave up)", got, n+1)
	}
}

// TestSetSlowAnswer: the answer waits d after the token was issued; a
// caller that gives up meanwhile gets no token, but the provider counts it
// issued, as a real endpoint would.
func TestSetSlowAnswer(t *testing.T) {
	const slow = 150 * time.Millisecond
	srv := oauthtest.NewServer(oauthtest.PartnerAPI)
	defer srv.Close()
	srv.AddClient("client", "secret-secret")
	client := &oauth.Client{MaxAttempts: 1}
	srv.SetSlowAnswer(slow)
	t0 := time.Now()
	if _, err := client.Fetch(context.Background(), partnerRequest(srv)); err != nil || time.Since(t0) < slow {
		t.Errorf("Fetch = %v after %v; want a token after at least %v", err, time.Since(t0), slow)
	}
	impatient := &oauth.Client{MaxAttempts: 1, RequestTimeout: slow / 5}
	if _, err := impatient.Fetch(context.Background(), partnerRequest(srv)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Fetch with a request timeout shorter than the slow answer = %v; want context.DeadlineExceeded", err)
	}
	if got := len(srv.IssuedTokens()); got != 2 {
		t.Errorf("issued %d tokens; want 2 (the one whose caller gave up too)", got)
	}
}
