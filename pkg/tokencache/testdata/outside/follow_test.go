// Package consumer is a module outside oauth-token-rotator, as another
// team's would be: it may import only the public packages. The test in
// ../../outside_test.go copies it into a temporary module and runs it.
package consumer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache/tokencachetest"
)

// TestOAuth2ClientFollowsRotatedRecord: an http.Client from
// oauth2.NewClient over tokencache's TokenSource sends the rotated token
// once the cache reads the record again, without a restart.
func TestOAuth2ClientFollowsRotatedRecord(t *testing.T) {
	var seen atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Authorization"))
	}))
	defer api.Close()

	synctest.Test(t, func(t *testing.T) {
		var store tokencachetest.Store
		store.SetToken("partner-api", "token-1", time.Now(), time.Hour)
		cache := tokencache.New(&store, tokencache.Config{MaxAge: 5 * time.Minute})
		base := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, base)
		client := oauth2.NewClient(ctx, cache.Source("partner-api").TokenSource(ctx))

		get := func(want string) {
			t.Helper()
			resp, err := client.Get(api.URL)
			if err != nil {
				t.Fatalf("GET = %v", err)
			}
			resp.Body.Close()
			if got := seen.Load(); got != "Bearer "+want {
				t.Errorf("partner saw %q; want %q", got, "Bearer "+want)
			}
		}
		get("token-1")
		store.SetToken("partner-api", "token-2", time.Now(), time.Hour) // the rotator rotates
		get("token-1")
		time.Sleep(5 * time.Minute) // the bubble's clock: no real wait
		get("token-2")
		if store.Reads() != 2 {
			t.Errorf("parameter reads = %d; want 2", store.Reads())
		}
	})
}
