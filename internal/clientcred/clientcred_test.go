package clientcred

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

type fakeSecrets func(id string) (*secretsmanager.GetSecretValueOutput, error)

func (f fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f(aws.ToString(in.SecretId))
}

const secret = "s3cr3t-VALUE-xyz-0123456789"

func TestGet(t *testing.T) {
	str := func(s string) (*secretsmanager.GetSecretValueOutput, error) {
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s)}, nil
	}
	tests := []struct {
		name    string
		api     fakeSecrets
		want    Credentials
		wantIs  error
		wantMsg string
	}{
		{"ok", func(string) (*secretsmanager.GetSecretValueOutput, error) {
			return str(`{"client_id":"id-1","client_secret":"` + secret + `","note":"extra fields ignored"}`)
		}, Credentials{SecretID: "oauth-clients/aviv", ClientID: "id-1", ClientSecret: secret}, nil, ""},
		{"not found", func(string) (*secretsmanager.GetSecretValueOutput, error) {
			return nil, &types.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
		}, Credentials{}, ErrNotFound, "not found"},
		{"access denied", func(string) (*secretsmanager.GetSecretValueOutput, error) {
			return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
		}, Credentials{}, ErrAccessDenied, "denied"},
		{"binary", func(string) (*secretsmanager.GetSecretValueOutput, error) {
			return &secretsmanager.GetSecretValueOutput{SecretBinary: []byte(secret)}, nil
		}, Credentials{}, ErrMalformed, "binary secret"},
		{"malformed json", func(string) (*secretsmanager.GetSecretValueOutput, error) {
			return str(`{"client_id":"id","client_secret":"` + secret)
		}, Credentials{}, ErrMalformed, "not a JSON object"},
		{"plain string", func(string) (*secretsmanager.GetSecretValueOutput, error) { return str(secret) }, Credentials{}, ErrMalformed, "not a JSON object"},
		{"wrong type", func(string) (*secretsmanager.GetSecretValueOutput, error) {
			return str(`{"client_id":1,"client_secret":"` + secret + `"}`)
		}, Credentials{}, ErrMalformed, "not a JSON object"},
		{"no client_secret", func(string) (*secretsmanager.GetSecretValueOutput, error) { return str(`{"client_id":"id"}`) }, Credentials{}, ErrMalformed, "client_secret is missing"},
		{"empty client_id", func(string) (*secretsmanager.GetSecretValueOutput, error) {
			return str(`{"client_id":"","client_secret":"` + secret + `"}`)
		}, Credentials{}, ErrMalformed, "client_id is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reader{API: tt.api}
			got, err := r.Get(context.Background(), "oauth-clients/aviv")
			if tt.wantIs == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Get = %v, %v; want %v, nil", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("Get error = %v; want errors.Is %v", err, tt.wantIs)
			}
			msg := err.Error()
			if !strings.Contains(msg, `"oauth-clients/aviv"`) || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("Get error = %q; want it to name the secret and say %q", msg, tt.wantMsg)
			}
			if strings.Contains(msg, secret[:8]) {
				t.Errorf("Get error %q leaks the secret", msg)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	c := Credentials{ClientID: "id-1", ClientSecret: secret}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "creds", c)
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), logs.String()} {
		if strings.Contains(s, secret[:8]) {
			t.Errorf("output %q contains the client secret", s)
		}
		if !strings.Contains(s, "id-1") {
			t.Errorf("output %q does not name the client id", s)
		}
	}
}
