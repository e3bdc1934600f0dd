package clientcred

import (
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/m2mtokens/oauth-token-rotator/internal/redact"
)

// SecretsAPI is the one Secrets Manager operation the package needs;
// *secretsmanager.Client satisfies it.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsAPI = (*secretsmanager.Client)(nil)

// Credentials is one OAuth client.
type Credentials struct {
	// SecretID names the secret the credentials came from (for errors).
	SecretID string `json:"-"`
	// ClientID is the OAuth client_id.
	ClientID string `json:"client_id"`
	// ClientSecret is the client_secret (client_secret_post and _basic).
	ClientSecret string `json:"client_secret"`
	// KeyID is the key's id, sent as the client assertion's kid.
	KeyID string `json:"key_id"`
	// Algorithm is the client assertion's signing algorithm: RS256, PS256
	// or ES256 (set by Parse from the key when the secret names none).
	Algorithm string `json:"algorithm"`
	// VersionID is the secret version read (GetSecretValue's VersionId,
	// AWSCURRENT's): not secret, set by Reader.Get, empty from Parse.
	VersionID string `json:"-"`

	// privateKey and certificate are the PEM fields, kept only until
	// parsed.
	privateKey  string
	certificate string
	key         crypto.Signer
	cert        *tls.Certificate
}

// Signer returns the parsed private key, or nil when the secret has none.
func (c Credentials) Signer() crypto.Signer { return c.key }

// Certificate returns the client certificate with its private key, for
// the TLS handshake, or nil when the secret has none.
func (c Credentials) Certificate() *tls.Certificate { return c.cert }

// String shows the client id and hides the secret and the key.
func (c Credentials) String() string {
	return fmt.Sprintf("clientcred.Credentials{client_id=%q client_secret=%s private_key=%s key_id=%q certificate=%t}",
		c.ClientID, redact.Secret(c.ClientSecret), redactedKey(c.key), c.KeyID, c.cert != nil)
}

// GoString is String, so %#v does not print the secret either.
func (c Credentials) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret or the key.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ClientID), slog.String("client_secret", redact.Secret(c.ClientSecret)),
		slog.String("private_key", redactedKey(c.key)), slog.String("key_id", c.KeyID), slog.Bool("certificate", c.cert != nil))
}

func redactedKey(k crypto.Signer) string {
	if k == nil {
		return `""`
	}
	return "[redacted]"
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
	c, err := Parse(secretID, []byte(*out.SecretString))
	if err != nil {
		return Credentials{}, err
	}
	c.VersionID = aws.ToString(out.VersionId)
	return c, nil
}

// wire is the SecretString's JSON.
type wire struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	PrivateKey   string `json:"private_key"`
	KeyID        string `json:"key_id"`
	Algorithm    string `json:"algorithm"`
	Certificate  string `json:"certificate"`
}

// Parse decodes a credentials SecretString and checks every field it has:
// a private key must parse, a certificate must parse, match the key and be
// valid now. secretID only names the secret in errors.
func Parse(secretID string, b []byte) (Credentials, error) {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		// Never wrap the json error: it may quote part of the secret.
		return Credentials{}, malformed(secretID, "SecretString is not a JSON object with string fields client_id and client_secret (or private_key)")
	}
	c := Credentials{SecretID: secretID, ClientID: w.ClientID, ClientSecret: w.ClientSecret, KeyID: w.KeyID,
		Algorithm: w.Algorithm, privateKey: w.PrivateKey, certificate: w.Certificate}
	switch {
	case c.ClientID == "":
		return Credentials{}, malformed(secretID, "client_id is missing or empty")
	case c.ClientSecret == "" && c.privateKey == "":
		return Credentials{}, malformed(secretID, "client_secret is missing or empty (private_key_jwt and tls_client_auth secrets have private_key instead)")
	}
	if err := c.parseKeys(timeNow()); err != nil {
		return Credentials{}, err
	}
	c.privateKey, c.certificate = "", ""
	return c, nil
}

// Check reports whether the credentials have what the client
// authentication method auth (an RFC 7591 name) needs, with an error that
// names the secret and the missing field.
func (c Credentials) Check(auth string) error {
	switch auth {
	case "", "client_secret_post", "client_secret_basic":
		if c.ClientSecret == "" {
			return malformed(c.SecretID, "client_secret is missing or empty; auth %s needs {\"client_id\", \"client_secret\"}", orPost(auth))
		}
	case "private_key_jwt":
		if c.key == nil {
			return malformed(c.SecretID, "private_key is missing or empty; auth private_key_jwt needs {\"client_id\", \"private_key\"} (PEM) and optionally \"key_id\"")
		}
	case "tls_client_auth":
		if c.cert == nil {
			return malformed(c.SecretID, "certificate is missing or empty; auth tls_client_auth needs {\"client_id\", \"certificate\", \"private_key\"} (PEM)")
		}
	default:
		return fmt.Errorf("clientcred: secret %q: unknown auth method %q", c.SecretID, auth)
	}
	return nil
}

func orPost(auth string) string {
	if auth == "" {
		return "client_secret_post"
	}
	return auth
}

func malformed(secretID, format string, args ...any) error {
	return fmt.Errorf("clientcred: secret %q: %w: %s", secretID, ErrMalformed, fmt.Sprintf(format, args...))
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
