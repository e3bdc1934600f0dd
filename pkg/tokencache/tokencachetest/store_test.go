package tokencachetest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache/tokencachetest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

var _ tokencache.ParameterGetter = (*tokencachetest.Store)(nil)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// TestStates serves each state a consumer must handle to a real Cache.
func TestStates(t *testing.T) {
	tests := []struct {
		name      string
		prefix    string
		set       func(s *tokencachetest.Store)
		wantToken string
		wantKind  error
	}{
		{"valid", "", func(s *tokencachetest.Store) { s.SetToken("p", "token-1", t0, time.Hour) }, "token-1", nil},
		{"valid under a prefix", "/team/tokens", func(s *tokencachetest.Store) { s.SetToken("p", "token-1", t0, time.Hour) }, "token-1", nil},
		{"expiring within the skew", "", func(s *tokencachetest.Store) {
			s.SetToken("p", "token-1", t0.Add(-time.Hour+30*time.Second), time.Hour)
		}, "", tokencache.ErrExpired},
		{"expired", "", func(s *tokencachetest.Store) { s.SetToken("p", "token-1", t0.Add(-2*time.Hour), time.Hour) }, "", tokencache.ErrExpired},
		{"missing", "", func(*tokencachetest.Store) {}, "", tokencache.ErrNotFound},
		{"deleted", "", func(s *tokencachetest.Store) { s.SetToken("p", "token-1", t0, time.Hour); s.Delete("p") }, "", tokencache.ErrNotFound},
		{"unreadable", "", func(s *tokencachetest.Store) { s.SetValue(s.Parameter("p"), "not json") }, "", tokencache.ErrUnreadable},
		{"another profile's record", "", func(s *tokencachetest.Store) {
			s.SetRecord(s.Parameter("p"), tokenrecord.Record{AccessToken: "token-q", TokenType: "Bearer", Profile: "q", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		}, "", tokencache.ErrUnreadable},
		{"reads fail", "", func(s *tokencachetest.Store) {
			s.SetToken("p", "token-1", t0, time.Hour)
			// Not ErrThrottled: the cache retries a throttled read within
			// its ReadTimeout, and this case wants one read.
			s.FailReads(&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "denied"})
		}, "", tokencache.ErrReadFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &tokencachetest.Store{Prefix: tt.prefix}
			tt.set(s)
			c := tokencache.New(s, tokencache.Config{Prefix: tt.prefix, Now: at(t0)})
			got, err := c.Source("p").Token(context.Background())
			if got != tt.wantToken || !errors.Is(err, tt.wantKind) || (tt.wantKind == nil) != (err == nil) {
				t.Errorf("Token(%q) = %q, %v; want %q, %v", "p", got, err, tt.wantToken, tt.wantKind)
			}
			if want := []string{tokenrecord.ParameterName(tt.prefix, "p")}; s.Reads() != 1 || strings.Join(s.ReadNames(), ",") != want[0] {
				t.Errorf("reads = %d of %q; want 1 of %q", s.Reads(), s.ReadNames(), want)
			}
		})
	}
}

// TestRotation: a record replaced in the store is served after the
// cache's next read, and the failing and recovering reads are counted.
func TestRotation(t *testing.T) {
	var s tokencachetest.Store
	s.SetToken("p", "token-1", t0, time.Hour)
	now := t0
	c := tokencache.New(&s, tokencache.Config{Now: func() time.Time { return now }, MaxAge: 5 * time.Minute, MinReadInterval: -1})
	ctx := context.Background()
	if got, err := c.Source("p").Token(ctx); got != "token-1" || err != nil {
		t.Fatalf("Token = %q, %v; want token-1", got, err)
	}
	s.SetToken("p", "token-2", t0.Add(time.Minute), time.Hour)
	if got, _ := c.Source("p").Token(ctx); got != "token-1" {
		t.Errorf("Token within MaxAge = %q; want the cached token-1", got)
	}
	now = now.Add(6 * time.Minute)
	s.FailReads(errors.New("AccessDeniedException"))
	if got, err := c.Source("p").Token(ctx); got != "token-1" || err != nil {
		t.Errorf("Token while reads fail = %q, %v; want the cached token-1", got, err)
	}
	s.FailReads(nil)
	if got, err := c.Source("p").Token(ctx); got != "token-2" || err != nil {
		t.Errorf("Token after the rotation = %q, %v; want token-2", got, err)
	}
	if s.Reads() != 3 {
		t.Errorf("Reads() = %d; want 3 (first read, failed read, read of token-2)", s.Reads())
	}
}

// TestOnRead: the hook sees each read's parameter and can fail it.
func TestOnRead(t *testing.T) {
	var s tokencachetest.Store
	s.SetToken("p", "token-1", t0, time.Hour)
	var seen []string
	hookErr := errors.New("held")
	s.OnRead = func(_ context.Context, name string) error {
		seen = append(seen, name)
		return hookErr
	}
	_, err := s.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/oauth-tokens/p"), WithDecryption: aws.Bool(true)})
	if !errors.Is(err, hookErr) || len(seen) != 1 || seen[0] != "/oauth-tokens/p" {
		t.Errorf("GetParameter with OnRead failing = %v, hook saw %q; want the hook's error after one call for /oauth-tokens/p", err, seen)
	}
}

func TestGetParameter(t *testing.T) {
	var s tokencachetest.Store
	s.SetValue("/x", "value")
	tests := []struct {
		name      string
		in        *ssm.GetParameterInput
		want      string
		wantError string
	}{
		{"decrypted", &ssm.GetParameterInput{Name: aws.String("/x"), WithDecryption: aws.Bool(true)}, "value", ""},
		{"not decrypted", &ssm.GetParameterInput{Name: aws.String("/x")}, "", "without WithDecryption"},
		{"missing", &ssm.GetParameterInput{Name: aws.String("/y"), WithDecryption: aws.Bool(true)}, "", "ParameterNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.GetParameter(context.Background(), tt.in)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Errorf("GetParameter(%q) = %v; want an error containing %q", aws.ToString(tt.in.Name), err, tt.wantError)
				}
				var nf *types.ParameterNotFound
				if tt.name == "missing" && !errors.As(err, &nf) {
					t.Errorf("GetParameter(%q) = %v; want *types.ParameterNotFound", aws.ToString(tt.in.Name), err)
				}
				return
			}
			if err != nil || aws.ToString(out.Parameter.Value) != tt.want || out.Parameter.Type != types.ParameterTypeSecureString {
				t.Errorf("GetParameter(%q) = %+v, %v; want SecureString %q", aws.ToString(tt.in.Name), out, err, tt.want)
			}
		})
	}
}

func TestSetRecordPanicsOnInvalidRecord(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `SetRecord "/x"`) {
			t.Errorf("SetRecord with an empty token: recover() = %v; want a panic naming the parameter", r)
		}
	}()
	var s tokencachetest.Store
	s.SetRecord("/x", tokenrecord.Record{Profile: "p"})
}
