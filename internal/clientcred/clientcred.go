// Package clientcred reads OAuth client credentials from AWS Secrets
// Manager.
//
// The secret's SecretString is JSON: {"client_id": "…", "client_secret": "…"},
// both required and non-empty. Errors name the secret and the problem (not
// found, access denied, binary secret, malformed JSON, a missing field) and
// never contain any part of the secret's value. Credentials' String, GoString
// and LogValue redact the client secret.
//
// A Reader is safe for concurrent use if its API is.
package clientcred

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// SecretsAPI is the one Secrets Manager operation the package needs;
// *secretsmanager.Client satisfies it.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsAPI = (*secretsmanager.Client)(nil)

// Credentials is one OAuth client.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// String shows the client id and hides the secret.
func (c Credentials) String() string {
	return fmt.Sprintf("clientcred.Credentials{client_id=%q client_secret=%s}", c.ClientID, tokenrecord.Redacted(c.ClientSecret))
}

// GoString is String, so %#v does not print the secret either.
func (c Credentials) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ClientID), slog.String("client_secret", tokenrecord.Redacted(c.ClientSecret)))
}

// Sentinel errors, matched with errors.Is.
var (
	ErrNotFound     = errors.New("secret not found")
	ErrAccessDenied = errors.New("access to the secret denied")
	ErrMalformed    = errors.New("secret is not valid client credentials")
)

// Reader reads credentials secrets.
type Reader struct {
	API SecretsAPI
}

// Get reads the secret secretID and returns its credentials.
func (r *Reader) Get(ctx context.Context, secretID string) (Credentials, error) {
	out, err := r.API.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return Credentials{}, fmt.Errorf("clientcred: read secret %q: %w", secretID, classify(err))
	}
	if out.SecretString == nil {
		if len(out.SecretBinary) > 0 {
			return Credentials{}, fmt.Errorf("clientcred: secret %q: %w: it is a binary secret; store JSON {\"client_id\",\"client_secret\"} as SecretString", secretID, ErrMalformed)
		}
		return Credentials{}, fmt.Errorf("clientcred: secret %q: %w: SecretString is empty", secretID, ErrMalformed)
	}
	return Parse(secretID, []byte(*out.SecretString))
}

// Parse decodes a credentials SecretString. secretID only names the secret
// in errors.
func Parse(secretID string, b []byte) (Credentials, error) {
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		// Never wrap the json error: it may quote part of the secret.
		return Credentials{}, fmt.Errorf("clientcred: secret %q: %w: SecretString is not a JSON object with string fields client_id and client_secret", secretID, ErrMalformed)
	}
	switch {
	case c.ClientID == "":
		return Credentials{}, fmt.Errorf("clientcred: secret %q: %w: client_id is missing or empty", secretID, ErrMalformed)
	case c.ClientSecret == "":
		return Credentials{}, fmt.Errorf("clientcred: secret %q: %w: client_secret is missing or empty", secretID, ErrMalformed)
	}
	return c, nil
}

// classify maps AWS errors to the package's sentinels, keeping the AWS
// error (which names no secret value) in the chain.
func classify(err error) error {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
			return fmt.Errorf("%w: %w", ErrAccessDenied, err)
		case "ResourceNotFoundException":
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
	}
	return err
}
