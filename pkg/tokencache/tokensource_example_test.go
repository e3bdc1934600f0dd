package tokencache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"golang.org/x/oauth2"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache/tokencachetest"
)

// ExampleSource_TokenSource hands the cache to x/oauth2: oauth2.NewClient
// (or any SDK that takes an oauth2.TokenSource) sends the record's token
// and asks the cache again at the token's Expiry, so it follows the record
// as the rotator replaces it.
func ExampleSource_TokenSource() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("partner API saw:", r.Header.Get("Authorization"))
	}))
	defer api.Close()

	var store tokencachetest.Store
	store.SetToken("pliant-production", "token-1", exampleNow(), 10*time.Hour)
	cache := tokencache.New(&store, tokencache.Config{Now: exampleNow}) // MaxAge 5 min, Skew 60 s
	ctx := context.Background()
	ts := cache.Source("pliant-production").TokenSource(ctx)

	tok, err := ts.Token()
	// Asked again by the cache's next read: MaxAge after this one, less a
	// jitter of up to a fifth, so that a fleet does not re-read together.
	fmt.Println(tok.AccessToken, err, tok.Expiry.Sub(exampleNow()) > 4*time.Minute, !tok.Expiry.After(exampleNow().Add(5*time.Minute)))

	resp, err := oauth2.NewClient(ctx, ts).Get(api.URL + "/api/cards")
	if err == nil {
		resp.Body.Close()
	}
	// Output:
	// token-1 <nil> true true
	// partner API saw: Bearer token-1
}
