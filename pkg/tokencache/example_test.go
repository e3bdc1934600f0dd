package tokencache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache/tokencachetest"
)

// Example_lambda builds the cache once, outside the handler, so that it
// survives warm invocations: the parameter is read on the first invocation
// and then only when the token nears expiry or the record is older than
// Config.MaxAge.
func Example_lambda() {
	cfg, err := config.LoadDefaultConfig(context.Background()) // honours AWS_ENDPOINT_URL
	if err != nil {
		slog.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	cache := tokencache.New(ssm.NewFromConfig(cfg), tokencache.Config{})
	partner := cache.Source("aviv-caas-agency-42").Client("leads-export/1.0")

	handler := func(ctx context.Context, _ struct{}) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.aviv-group.com/caas/v3/listings", nil)
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
	lambda.Start(handler)
}

// Example_ecs shows a long-running service. One cache lives as long as the
// task; because a record is trusted for at most Config.MaxAge, the task keeps
// following the record as the rotator replaces it, with no restart. (ECS
// "secrets: valueFrom" would freeze the token at container start.)
func Example_ecs() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		slog.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	cache := tokencache.New(ssm.NewFromConfig(cfg), tokencache.Config{MaxAge: 5 * time.Minute})
	partner := cache.Source("pliant-production").Client("card-sync/2.3 (ecs)")
	partner.Timeout = 30 * time.Second

	ticker := time.NewTicker(time.Minute)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.getpliant.com/api/cards", nil)
		resp, err := partner.Do(req)
		if errors.Is(err, tokencache.ErrExpired) {
			slog.Error("the rotator has stalled; alarm", "error", err)
			continue
		}
		if err != nil {
			slog.Warn("sync cards", "error", err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		s := cache.Stats()
		slog.Info("cards synced", "status", resp.StatusCode, "cache_hits", s.Hits, "cache_misses", s.Misses, "stale_served", s.StaleServed, "read_errors", s.ReadErrors)
	}
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

// Example_otherAccount reads the token records of the rotator's account
// from another account of the organization, through the reader role that
// the rotator's stack creates for it (its CrossAccountReaderRoleArn
// output, for the accounts in CrossAccountReaderAccounts or the
// organization in CrossAccountReaderOrgId). This process's own role needs
// sts:AssumeRole on that role and nothing else. The role's credentials
// are assumed on the first read and replaced a minute before they expire;
// the records are read in the rotator's region.
func Example_otherAccount() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx) // this account: the Lambda's execution role
	if err != nil {
		fmt.Println(err)
		return
	}
	roleARN := os.Getenv("TOKEN_READER_ROLE_ARN") // arn:aws:iam::<rotator's account>:role/…
	creds := aws.NewCredentialsCache(
		stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "leads-export" // shown in the rotator account's CloudTrail
		}),
		func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = time.Minute })
	client := ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		o.Credentials = creds
		if region := os.Getenv("TOKEN_REGION"); region != "" {
			o.Region = region // the rotator's region, when it is not this one
		}
	})
	cache := tokencache.New(client, tokencache.Config{RoleARN: roleARN}) // RoleARN: named in errors

	token, err := cache.Source("aviv-caas-agency-42").Token(ctx)
	if err != nil {
		fmt.Println(err) // names the profile, the parameter and the role, and what to change
		return
	}
	fmt.Printf("a token of %d bytes\n", len(token))
}
