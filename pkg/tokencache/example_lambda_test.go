package tokencache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache/tokencachetest"
)

// listingsHandler is a Lambda handler that calls a partner API with a
// profile's token. main builds it once, outside the handler, so that its
// cache survives warm invocations:
//
//	cfg, err := config.LoadDefaultConfig(ctx) // honours AWS_ENDPOINT_URL
//	...
//	h := newListingsHandler(ssm.NewFromConfig(cfg), "https://api.aviv-group.com/caas/v3")
//	lambda.Start(h.Handle)
type listingsHandler struct {
	partner *http.Client
	baseURL string
}

func newListingsHandler(ssmClient tokencache.ParameterGetter, baseURL string) *listingsHandler {
	cache := tokencache.New(ssmClient, tokencache.Config{})
	partner := cache.Source("aviv-caas-agency-42").Client("leads-export/1.0")
	partner.Timeout = 20 * time.Second
	return &listingsHandler{partner: partner, baseURL: baseURL}
}

// Handle is the Lambda handler: each invocation lists the listings.
func (h *listingsHandler) Handle(ctx context.Context, _ struct{}) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.baseURL+"/listings", nil)
	if err != nil {
		return 0, err
	}
	resp, err := h.partner.Do(req) // Authorization: Bearer … and User-Agent; one retry after a 401
	if err != nil {
		return 0, fmt.Errorf("list listings: %w", err) // names the profile, never the token
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// Example_lambda invokes the handler three times, as warm invocations of
// one Lambda environment would: the parameter is read once. Here Parameter
// Store is in memory and the partner API is local.
func Example_lambda() {
	var store tokencachetest.Store
	store.SetToken("aviv-caas-agency-42", "token-1", time.Now(), time.Hour)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer token-1" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()

	h := newListingsHandler(&store, api.URL)
	for range 3 {
		fmt.Println(h.Handle(context.Background(), struct{}{}))
	}
	fmt.Println("parameter reads:", store.Reads())
	// Output:
	// 200 <nil>
	// 200 <nil>
	// 200 <nil>
	// parameter reads: 1
}
