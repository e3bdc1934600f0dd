package tokencache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache/tokencachetest"
)

// Example_lambda builds the cache once, outside the handler, so that it
// survives warm invocations: the parameter is read on the first invocation
// and then only when the token nears expiry or the record is older than
// Config.MaxAge. In a function's main the client is the real one and the
// handler is started by the runtime:
//
//	cfg, err := config.LoadDefaultConfig(ctx) // honours AWS_ENDPOINT_URL
//	cache := tokencache.New(ssm.NewFromConfig(cfg), tokencache.Config{})
//	...
//	lambda.Start(handler)
//
// Here Parameter Store is in memory, the partner API is local, and the
// handler is invoked three times, as warm invocations would be.
func Example_lambda() {
	var store tokencachetest.Store
	store.SetToken("aviv-caas-agency-42", "token-1", time.Now(), time.Hour)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer token-1" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()
	cache := tokencache.New(&store, tokencache.Config{})
	partner := cache.Source("aviv-caas-agency-42").Client("leads-export/1.0")

	handler := func(ctx context.Context, _ struct{}) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.URL+"/caas/v3/listings", nil)
		if err != nil {
			return 0, err
		}
		resp, err := partner.Do(req) // Authorization: Bearer … and User-Agent added; one retry after a 401
		if err != nil {
			return 0, fmt.Errorf("list listings: %w", err) // names the profile, never the token
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	for range 3 {
		fmt.Println(handler(context.Background(), struct{}{}))
	}
	fmt.Println("parameter reads:", store.Reads())
	// Output:
	// 200 <nil>
	// 200 <nil>
	// 200 <nil>
	// parameter reads: 1
}

// Example_ecs is a long-running ECS service. One Cache lives as long as
// the task, and because a record is trusted for at most Config.MaxAge, the
// task follows the record as the rotator replaces it, with no restart. ECS
// "secrets": [{"valueFrom": "arn:…:parameter/oauth-tokens/…"}] would not:
// it reads the parameter once, when the container starts, and a task that
// outlives the token then sends an expired one until it is replaced. The
// task's main builds the cache once:
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	...
//	cache := tokencache.New(ssm.NewFromConfig(cfg), tokencache.Config{})
//	partner := cache.Source("pliant-production").Client("card-sync/2.3 (ecs)")
//
// Here Parameter Store is in memory and the clock is the example's.
func Example_ecs() {
	now := exampleNow()
	var store tokencachetest.Store
	store.SetToken("pliant-production", "token-1", now, 10*time.Hour)
	cache := tokencache.New(&store, tokencache.Config{Now: func() time.Time { return now }})
	src := cache.Source("pliant-production")
	ctx := context.Background()

	token, _ := src.Token(ctx)
	fmt.Println(token)
	store.SetToken("pliant-production", "token-2", now, 10*time.Hour) // the rotator writes the next token
	now = now.Add(time.Minute)
	token, _ = src.Token(ctx)
	fmt.Println(token, "(read a minute ago)")
	now = now.Add(tokencache.DefaultMaxAge)
	token, _ = src.Token(ctx)
	fmt.Println(token, "after", store.Reads(), "reads")
	// Output:
	// token-1
	// token-1 (read a minute ago)
	// token-2 after 2 reads
}

// exampleNow is the examples' clock, so that their records stay valid.
func exampleNow() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

func ExampleSource_Token() {
	var store tokencachetest.Store // SSM Parameter Store in memory
	store.SetValue("/oauth-tokens/aviv-caas-agency-42", `{"access_token":"eyJhbGciOi-example","token_type":"Bearer",`+
		`"expires_at":"2026-11-23T10:00:00Z","issued_at":"2026-11-22T10:00:00Z","profile":"aviv-caas-agency-42"}`)
	cache := tokencache.New(&store, tokencache.Config{Now: exampleNow})
	ctx := context.Background()

	token, err := cache.Source("aviv-caas-agency-42").Token(ctx)
	fmt.Println(token, err)

	_, err = cache.Source("aviv-caas-agency-7").Token(ctx)
	var e *tokencache.Error
	fmt.Println(errors.Is(err, tokencache.ErrNotFound), errors.As(err, &e) && e.Profile == "aviv-caas-agency-7")
	// Output:
	// eyJhbGciOi-example <nil>
	// true true
}

func ExampleSource_Invalidate() {
	var store tokencachetest.Store // SSM Parameter Store in memory
	store.SetValue("/oauth-tokens/partner-api", `{"access_token":"token-1","token_type":"Bearer",`+
		`"expires_at":"2026-11-22T13:00:00Z","issued_at":"2026-11-22T12:00:00Z","profile":"partner-api"}`)
	now := exampleNow()
	cache := tokencache.New(&store, tokencache.Config{Now: func() time.Time { return now }})
	src := cache.Source("partner-api")
	ctx := context.Background()

	rejected, _ := src.Token(ctx)
	// The partner API answers 401 to every request in flight with token-1;
	// meanwhile the rotator has written token-2.
	store.SetValue("/oauth-tokens/partner-api", `{"access_token":"token-2","token_type":"Bearer",`+
		`"expires_at":"2026-11-22T14:00:00Z","issued_at":"2026-11-22T13:00:00Z","profile":"partner-api"}`)
	now = now.Add(time.Minute)

	fmt.Println(src.Invalidate(rejected)) // the first 401 drops token-1
	fresh, _ := src.Token(ctx)            // one read
	fmt.Println(fresh)
	fmt.Println(src.Invalidate(rejected)) // later 401s for token-1 change nothing
	fmt.Println(cache.Stats().Reads)
	// Output:
	// true
	// token-2
	// false
	// 2
}

// ExampleSource_Transport wraps a tuned base transport instead of
// http.DefaultTransport.
func ExampleSource_Transport() {
	var store tokencachetest.Store // SSM Parameter Store in memory
	store.SetValue("/oauth-tokens/partner-api", `{"access_token":"token-1","token_type":"Bearer",`+
		`"expires_at":"2026-11-22T13:00:00Z","issued_at":"2026-11-22T12:00:00Z","profile":"partner-api"}`)
	cache := tokencache.New(&store, tokencache.Config{Now: exampleNow})
	base := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 16,
	}
	client := &http.Client{
		Timeout:   20 * time.Second,
		Transport: cache.Source("partner-api").Transport(base, "leads-sync/2.1"),
	}

	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.Header.Get("Authorization"), r.Header.Get("User-Agent"))
	}))
	defer api.Close()
	resp, err := client.Get(api.URL + "/listings")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output: Bearer token-1 leads-sync/2.1
}
