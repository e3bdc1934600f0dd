package tokencache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

// TestMotoReadThroughCache reads SecureString records from a real SSM
// emulator through the cache, as a consumer does in AWS.
func TestMotoReadThroughCache(t *testing.T) {
	moto := mototest.Start(t)
	client, _ := moto.Clients(t)
	ctx := context.Background()
	put := func(name, value string) {
		t.Helper()
		_, err := client.PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String(name), Value: aws.String(value),
			Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true),
		})
		if err != nil {
			t.Fatalf("PutParameter(%q): %v", name, err)
		}
	}

	clk := newClock()
	c := New(client, Config{Now: clk.Now})
	put("/oauth-tokens/"+testProfile, record(t, testProfile, "token-1", t0, 24*time.Hour))

	t.Run("read and cached", func(t *testing.T) {
		for range 3 {
			if got := mustToken(t, c, testProfile); got != "token-1" {
				t.Fatalf("Token(%q) = %q; want %q", testProfile, got, "token-1")
			}
		}
		if got := c.Stats().Reads; got != 1 {
			t.Errorf("Stats().Reads = %d; want 1", got)
		}
	})
	t.Run("follows the rotation", func(t *testing.T) {
		put("/oauth-tokens/"+testProfile, record(t, testProfile, "token-2", t0.Add(time.Hour), 24*time.Hour))
		clk.Advance(DefaultMaxAge)
		if got := mustToken(t, c, testProfile); got != "token-2" {
			t.Errorf("Token(%q) after MaxAge = %q; want %q", testProfile, got, "token-2")
		}
	})
	t.Run("by parameter name", func(t *testing.T) {
		put("/partners/pliant/production", record(t, "pliant-production", "token-p", t0, 10*time.Hour))
		if got, err := c.SourceByParameter("/partners/pliant/production").Token(ctx); err != nil || got != "token-p" {
			t.Errorf("Parameter(%q).Token = %q, %v; want %q, nil", "/partners/pliant/production", got, err, "token-p")
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := c.Source("no-such-profile").Token(ctx)
		var nf *types.ParameterNotFound
		if !errors.Is(err, ErrNotFound) || !errors.As(err, &nf) {
			t.Errorf("Token(%q) = %v; want ErrNotFound wrapping *types.ParameterNotFound", "no-such-profile", err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		put("/oauth-tokens/broken", "not a record")
		if _, err := c.Source("broken").Token(ctx); !errors.Is(err, ErrUnreadable) {
			t.Errorf("Token(%q) = %v; want ErrUnreadable", "broken", err)
		}
	})
}
