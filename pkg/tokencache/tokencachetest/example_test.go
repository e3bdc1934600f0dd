package tokencachetest_test

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

// listListings is the consumer's code under test: it calls a partner API
// through the client the cache builds.
func listListings(ctx context.Context, client *http.Client, baseURL string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/listings", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// Example tests a consumer's code with a real Cache over a Store: the
// partner API revokes token-1 once the rotator has written token-2, and the
// code recovers after one 401 without a restart.
func Example() {
	valid := "token-1"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+valid {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()

	var store tokencachetest.Store
	store.SetToken("partner-api", "token-1", time.Now(), time.Hour)
	cache := tokencache.New(&store, tokencache.Config{})
	client := cache.Source("partner-api").Client("listings-test/1.0")
	ctx := context.Background()

	fmt.Println(listListings(ctx, client, api.URL))
	store.SetToken("partner-api", "token-2", time.Now(), time.Hour) // the rotator rotates
	valid = "token-2"                                               // and the partner revokes token-1
	fmt.Println(listListings(ctx, client, api.URL))
	fmt.Println("parameter reads:", store.Reads())

	store.Delete("partner-api")
	_, err := cache.Source("unknown-profile").Token(ctx)
	fmt.Println(err)
	// Output:
	// 200 <nil>
	// 200 <nil>
	// parameter reads: 2
	// tokencache: profile "unknown-profile" (parameter "/oauth-tokens/unknown-profile"): token record not found; has the rotator written it?: operation error SSM: GetParameter, ParameterNotFound: parameter /oauth-tokens/unknown-profile not found
}
