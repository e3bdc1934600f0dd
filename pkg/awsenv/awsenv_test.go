package awsenv

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/logging"
)

// awsVars are the variables Load reads; each test starts with none set.
var awsVars = []string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY",
	"AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_ACCOUNT_ID", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM",
	"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT",
	"AWS_USE_DUALSTACK_ENDPOINT", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_SDK_UA_APP_ID", "AWS_CA_BUNDLE",
}

// setEnv clears the AWS variables, then sets kv ("NAME=value" pairs).
func setEnv(t *testing.T, kv ...string) {
	t.Helper()
	for _, k := range awsVars {
		t.Setenv(k, "")
	}
	for _, e := range kv {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
}

var lambdaEnv = []string{"AWS_REGION=eu-central-1", "AWS_ACCESS_KEY_ID=AKIDLAMBDA", "AWS_SECRET_ACCESS_KEY=lambda-secret", "AWS_SESSION_TOKEN=lambda-session"}

func TestLoadLambdaCredentials(t *testing.T) {
	setEnv(t, lambdaEnv...)
	cfg, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-central-1" {
		t.Errorf("Region = %q; want eu-central-1", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "AKIDLAMBDA" || creds.SecretAccessKey != "lambda-secret" || creds.SessionToken != "lambda-session" {
		t.Errorf("credentials = %s/%s; want the environment's", creds.AccessKeyID, creds.Source)
	}
	if cfg.BaseEndpoint != nil {
		t.Errorf("BaseEndpoint = %q; want none without AWS_ENDPOINT_URL", *cfg.BaseEndpoint)
	}
}

func TestLoadRefusesMissingSettings(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no region", []string{"AWS_ACCESS_KEY_ID=a", "AWS_SECRET_ACCESS_KEY=b"}, "AWS_REGION"},
		{"no credentials", []string{"AWS_REGION=eu-west-1"}, "AWS_ACCESS_KEY_ID"},
		{"key without secret", []string{"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=a"}, "AWS_SECRET_ACCESS_KEY"},
		{"credentials endpoint on a remote plain-http host", []string{"AWS_REGION=eu-west-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://creds.example.com/x"}, "AWS_CONTAINER_CREDENTIALS_FULL_URI"},
		{"credentials endpoint with another scheme", []string{"AWS_REGION=eu-west-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI=ftp://127.0.0.1/x"}, "AWS_CONTAINER_CREDENTIALS_FULL_URI"},
		{"credentials endpoint without a host", []string{"AWS_REGION=eu-west-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI=/x"}, "AWS_CONTAINER_CREDENTIALS_FULL_URI"},
		{"CA bundle missing", append(slices.Clone(lambdaEnv), "AWS_CA_BUNDLE=/nonexistent/ca.pem"), "AWS_CA_BUNDLE"},
		{"bad AWS_MAX_ATTEMPTS", append(slices.Clone(lambdaEnv), "AWS_MAX_ATTEMPTS=many"), "AWS_MAX_ATTEMPTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env...)
			_, err := Load(Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load() = %v; want an error naming %s", err, tt.want)
			}
		})
	}
	t.Run("CA bundle without a certificate", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(path, []byte("not a certificate"), 0o600); err != nil {
			t.Fatal(err)
		}
		setEnv(t, append(slices.Clone(lambdaEnv), "AWS_CA_BUNDLE="+path)...)
		if _, err := Load(Options{}); err == nil || !strings.Contains(err.Error(), "AWS_CA_BUNDLE") {
			t.Fatalf("Load() = %v; want an error naming AWS_CA_BUNDLE", err)
		}
	})
}

// recorder is an AWS JSON endpoint that answers {} and records the
// X-Amz-Target of each request.
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	targets []string
}

func newRecorder(t *testing.T, tlsServer bool) *recorder {
	r := &recorder{}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.targets = append(r.targets, req.Header.Get("X-Amz-Target"))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte("{}"))
	})
	if tlsServer {
		r.Server = httptest.NewTLSServer(h)
	} else {
		r.Server = httptest.NewServer(h)
	}
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.targets...)
}

// TestLoadEndpoints sends real requests: AWS_ENDPOINT_URL_SSM takes SSM
// calls, AWS_ENDPOINT_URL everything else.
func TestLoadEndpoints(t *testing.T) {
	general, forSSM := newRecorder(t, false), newRecorder(t, false)
	setEnv(t, append(slices.Clone(lambdaEnv), "AWS_ENDPOINT_URL="+general.URL, "AWS_ENDPOINT_URL_SSM="+forSSM.URL, "AWS_MAX_ATTEMPTS=1")...)
	cfg, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")}); err != nil {
		t.Fatalf("GetParameter: %v", err)
	}
	if _, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")}); err != nil {
		t.Fatalf("GetSecretValue: %v", err)
	}
	if got := forSSM.got(); len(got) != 1 || got[0] != "AmazonSSM.GetParameter" {
		t.Errorf("AWS_ENDPOINT_URL_SSM got %q; want [AmazonSSM.GetParameter]", got)
	}
	if got := general.got(); len(got) != 1 || got[0] != "secretsmanager.GetSecretValue" {
		t.Errorf("AWS_ENDPOINT_URL got %q; want [secretsmanager.GetSecretValue]", got)
	}

	t.Run("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", func(t *testing.T) {
		t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
		cfg, err := Load(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.BaseEndpoint != nil {
			t.Errorf("BaseEndpoint = %q; want none", *cfg.BaseEndpoint)
		}
		if ep := ssm.NewFromConfig(cfg).Options().BaseEndpoint; ep != nil {
			t.Errorf("SSM BaseEndpoint = %q; want none", *ep)
		}
	})
}

// TestLoadCABundle talks TLS to an endpoint whose certificate only
// AWS_CA_BUNDLE vouches for.
func TestLoadCABundle(t *testing.T) {
	srv := newRecorder(t, true)
	path := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatal(err)
	}
	call := func(t *testing.T) error {
		cfg, err := Load(Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ssm.NewFromConfig(cfg).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/p")})
		return err
	}
	base := append(slices.Clone(lambdaEnv), "AWS_ENDPOINT_URL="+srv.URL, "AWS_MAX_ATTEMPTS=1")
	setEnv(t, base...)
	if err := call(t); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without AWS_CA_BUNDLE: %v; want a certificate error", err)
	}
	setEnv(t, append(base, "AWS_CA_BUNDLE="+path)...)
	if err := call(t); err != nil {
		t.Fatalf("with AWS_CA_BUNDLE: %v", err)
	}
}

// TestLoadContainerCredentials fetches credentials from a container
// credentials endpoint, with the token from a file, as on EKS Pod Identity
// or a Lambda execution environment that outlives its first credentials.
func TestLoadContainerCredentials(t *testing.T) {
	var auth []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": "AKIDCONTAINER", "SecretAccessKey": "container-secret", "Token": "container-session",
			"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	}))
	t.Cleanup(srv.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("agent-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	setEnv(t, "AWS_REGION=eu-west-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI="+srv.URL+"/v1/credentials",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+tokenFile)
	cfg, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second comes from the cache
		creds, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if creds.AccessKeyID != "AKIDCONTAINER" || creds.SessionToken != "container-session" || !creds.CanExpire {
			t.Errorf("credentials = %s (expiring %v); want AKIDCONTAINER from the endpoint", creds.AccessKeyID, creds.CanExpire)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 1 || auth[0] != "agent-token" {
		t.Errorf("endpoint saw Authorization %q; want one request with the file's token", auth)
	}

	t.Run("environment keys win", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
		cfg, err := Load(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if creds, err := cfg.Credentials.Retrieve(context.Background()); err != nil || creds.AccessKeyID != "AKIDENV" {
			t.Errorf("credentials = %s, %v; want AKIDENV", creds.AccessKeyID, err)
		}
	})
}

func TestCheckCredentialsEndpoint(t *testing.T) {
	for _, ok := range []string{"https://creds.example.com/x", "http://127.0.0.1:8080/x", "http://localhost/x",
		"http://[::1]/x", "http://169.254.170.2/v2/credentials", "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials"} {
		if err := checkCredentialsEndpoint(ok); err != nil {
			t.Errorf("checkCredentialsEndpoint(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1/x", "http://creds.example.com/x", "http://169.254.169.254/latest", "file:///etc/passwd", "::"} {
		if err := checkCredentialsEndpoint(bad); err == nil {
			t.Errorf("checkCredentialsEndpoint(%q) = nil; want an error", bad)
		}
	}
}

func TestLoadRetrySettings(t *testing.T) {
	setEnv(t, append(slices.Clone(lambdaEnv), "AWS_SDK_UA_APP_ID=team-a")...)
	eight := func() aws.Retryer { return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 8 }) }
	cfg, err := Load(Options{Retryer: eight})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AppID != "team-a" {
		t.Errorf("AppID = %q; want team-a", cfg.AppID)
	}
	if got := ssm.NewFromConfig(cfg).Options().Retryer.MaxAttempts(); got != 8 {
		t.Errorf("SSM retryer attempts = %d; want 8 from Options.Retryer", got)
	}
	t.Setenv("AWS_MAX_ATTEMPTS", "2")
	if cfg, err = Load(Options{Retryer: eight}); err != nil {
		t.Fatal(err)
	}
	if got := ssm.NewFromConfig(cfg).Options().Retryer.MaxAttempts(); got != 2 {
		t.Errorf("SSM retryer attempts = %d; want 2 from AWS_MAX_ATTEMPTS", got)
	}
}

func TestLoadLogger(t *testing.T) {
	setEnv(t, lambdaEnv...)
	var buf bytes.Buffer
	cfg, err := Load(Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger.Logf(logging.Warn, "response has no %s", "checksum")
	cfg.Logger.Logf(logging.Debug, "dropped at the default level")
	var line struct{ Level, Msg string }
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v; want one JSON line", buf.String(), err)
	}
	if line.Level != "WARN" || line.Msg != "aws sdk: response has no checksum" {
		t.Errorf("log line = %+v; want a WARN with the SDK's message", line)
	}
	if cfg, err = Load(Options{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Logger.(logging.Nop); !ok {
		t.Errorf("Logger without Options.Logger = %T; want logging.Nop", cfg.Logger)
	}
}

func TestLoadFIPSAndDualStack(t *testing.T) {
	setEnv(t, append(slices.Clone(lambdaEnv), "AWS_USE_FIPS_ENDPOINT=true", "AWS_USE_DUALSTACK_ENDPOINT=true")...)
	cfg, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	eo := ssm.NewFromConfig(cfg).Options().EndpointOptions
	if eo.UseFIPSEndpoint != aws.FIPSEndpointStateEnabled || eo.UseDualStackEndpoint != aws.DualStackEndpointStateEnabled {
		t.Errorf("SSM endpoint options = %+v; want FIPS and dual-stack enabled", eo)
	}
}
