package awsenv

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/logging"
)

// setEnv unsets every AWS_ variable of the machine's environment (each
// restored after the test), points the shared config files at nothing so
// that config.LoadDefaultConfig, which the parity test runs beside Load,
// reads none, then sets kv ("NAME=value" pairs).
func setEnv(t *testing.T, kv ...string) {
	t.Helper()
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "") // registers the restore
			if err := os.Unsetenv(k); err != nil {
				t.Fatal(err)
			}
		}
	}
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
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
		{"key without secret", []string{"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=a"}, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"},
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
		r.Server = httptest.NewUnstartedServer(h)
		r.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake the test expects to fail
		r.StartTLS()
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

// credsEndpoint is a container credentials endpoint that records the
// Authorization header of each request and answers credentials expiring
// after ttl.
type credsEndpoint struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newCredsEndpoint(t *testing.T, ttl time.Duration) *credsEndpoint {
	e := &credsEndpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.auth = append(e.auth, r.Header.Get("Authorization"))
		e.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": "AKIDCONTAINER", "SecretAccessKey": "container-secret", "Token": "container-session",
			"Expiration": time.Now().Add(ttl).UTC().Format(time.RFC3339),
		})
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *credsEndpoint) requests() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.auth...)
}

// retrieveTwice asks cfg's credentials twice and checks they came from the
// container endpoint.
func retrieveTwice(t *testing.T, cfg aws.Config) {
	t.Helper()
	for range 2 {
		creds, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if creds.AccessKeyID != "AKIDCONTAINER" || creds.SessionToken != "container-session" || !creds.CanExpire {
			t.Fatalf("credentials = %s (expiring %v); want AKIDCONTAINER from the endpoint", creds.AccessKeyID, creds.CanExpire)
		}
	}
}

// TestLoadContainerCredentials fetches credentials from a container
// credentials endpoint, as on EKS Pod Identity, ECS, or a Lambda execution
// environment that outlives its first credentials.
func TestLoadContainerCredentials(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("file-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ttl  time.Duration
		env  func(url string) []string
		want []string // Authorization of each endpoint request over two Retrieve calls
	}{
		{"full URI, token from the environment, cached", time.Hour,
			func(url string) []string {
				return []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + url + "/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN=env-token"}
			},
			[]string{"env-token"}},
		{"the token file wins over the token", time.Hour,
			func(url string) []string {
				return []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + url, "AWS_CONTAINER_AUTHORIZATION_TOKEN=env-token",
					"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + tokenFile}
			},
			[]string{"file-token"}},
		{"relative URI (ECS)", time.Hour,
			func(url string) []string {
				containerCredentialsHost = url
				return []string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/abc"}
			},
			nil},
		{"credentials within 5 minutes of expiry are fetched again", 2 * time.Minute,
			func(url string) []string {
				return []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + url, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + tokenFile}
			},
			[]string{"file-token", "file-token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCredsEndpoint(t, tt.ttl)
			host := containerCredentialsHost
			t.Cleanup(func() { containerCredentialsHost = host })
			setEnv(t, append([]string{"AWS_REGION=eu-west-1"}, tt.env(e.URL)...)...)
			cfg, err := Load(Options{})
			if err != nil {
				t.Fatal(err)
			}
			retrieveTwice(t, cfg)
			want := tt.want
			if want == nil {
				want = []string{""}
			}
			if got := e.requests(); !slices.Equal(got, want) {
				t.Errorf("endpoint requests with Authorization %q; want %q", got, want)
			}
		})
	}

	t.Run("environment keys win", func(t *testing.T) {
		e := newCredsEndpoint(t, time.Hour)
		setEnv(t, "AWS_REGION=eu-west-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI="+e.URL,
			"AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=env-secret")
		cfg, err := Load(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if creds, err := cfg.Credentials.Retrieve(context.Background()); err != nil || creds.AccessKeyID != "AKIDENV" {
			t.Errorf("credentials = %s, %v; want AKIDENV", creds.AccessKeyID, err)
		}
		if n := len(e.requests()); n != 0 {
			t.Errorf("container endpoint got %d requests; want 0", n)
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

// TestLoadRetrySettings: AWS_MAX_ATTEMPTS and AWS_RETRY_MODE apply to the
// SDK's own retryer, but not over Options.Retryer (as with
// config.WithRetryer), so that the rotator keeps its 8 attempts.
func TestLoadRetrySettings(t *testing.T) {
	eight := func() aws.Retryer { return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 8 }) }
	tests := []struct {
		name     string
		env      []string
		retryer  func() aws.Retryer
		attempts int
		mode     aws.RetryMode
	}{
		{"SDK defaults", nil, nil, 3, aws.RetryModeStandard},
		{"AWS_MAX_ATTEMPTS", []string{"AWS_MAX_ATTEMPTS=2"}, nil, 2, aws.RetryModeStandard},
		{"AWS_RETRY_MODE", []string{"AWS_RETRY_MODE=adaptive"}, nil, 3, aws.RetryModeAdaptive},
		{"Options.Retryer", nil, eight, 8, ""},
		{"Options.Retryer over AWS_MAX_ATTEMPTS and AWS_RETRY_MODE", []string{"AWS_MAX_ATTEMPTS=2", "AWS_RETRY_MODE=adaptive"}, eight, 8, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, append(slices.Clone(lambdaEnv), tt.env...)...)
			cfg, err := Load(Options{Retryer: tt.retryer})
			if err != nil {
				t.Fatal(err)
			}
			o := ssm.NewFromConfig(cfg).Options()
			if got := o.Retryer.MaxAttempts(); got != tt.attempts {
				t.Errorf("SSM retryer attempts = %d; want %d", got, tt.attempts)
			}
			if o.RetryMode != tt.mode {
				t.Errorf("SSM RetryMode = %q; want %q", o.RetryMode, tt.mode)
			}
		})
	}
}

func TestLoadLogger(t *testing.T) {
	setEnv(t, lambdaEnv...)
	unsetSharedConfig(t) // else Load warns of them (TestLoadWarnsOfSharedConfig)
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
	// Without Options.Logger, slog.Default() gets the messages.
	var def bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&def, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	if cfg, err = Load(Options{}); err != nil {
		t.Fatal(err)
	}
	cfg.Logger.Logf(logging.Warn, "to the default logger")
	if !strings.Contains(def.String(), `"msg":"aws sdk: to the default logger"`) {
		t.Errorf("default logger got %q; want the SDK's warning", def.String())
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

// resolved is what a client built from a configuration ends up with.
type resolved struct {
	Region, AppID                                  string
	BaseEndpoint, SSMEndpoint, SecretsEndpoint     string
	RetryMaxAttempts, SSMAttempts                  int
	RetryMode, SSMRetryMode                        aws.RetryMode
	DefaultsMode                                   aws.DefaultsMode
	RuntimeEnvironment                             aws.RuntimeEnvironment
	DisableRequestCompression                      bool
	RequestMinCompressSizeBytes                    int64
	DisableClockSkewCorrection                     bool
	AccountIDEndpointMode                          aws.AccountIDEndpointMode
	RequestChecksumCalculation                     aws.RequestChecksumCalculation
	ResponseChecksumValidation                     aws.ResponseChecksumValidation
	AuthSchemePreference                           []string
	FIPS                                           aws.FIPSEndpointState
	DualStack                                      aws.DualStackEndpointState
	AccessKeyID, SecretAccessKey, SessionToken, ID string
}

func resolve(t *testing.T, cfg aws.Config) resolved {
	t.Helper()
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o := ssm.NewFromConfig(cfg).Options()
	r := resolved{
		Region: cfg.Region, AppID: cfg.AppID, BaseEndpoint: aws.ToString(cfg.BaseEndpoint),
		SSMEndpoint: aws.ToString(o.BaseEndpoint), SecretsEndpoint: aws.ToString(secretsmanager.NewFromConfig(cfg).Options().BaseEndpoint),
		RetryMaxAttempts: cfg.RetryMaxAttempts, SSMAttempts: o.Retryer.MaxAttempts(), RetryMode: cfg.RetryMode, SSMRetryMode: o.RetryMode,
		DefaultsMode: cfg.DefaultsMode, RuntimeEnvironment: cfg.RuntimeEnvironment,
		DisableRequestCompression: cfg.DisableRequestCompression, RequestMinCompressSizeBytes: cfg.RequestMinCompressSizeBytes,
		DisableClockSkewCorrection: cfg.DisableClockSkewCorrection, AccountIDEndpointMode: cfg.AccountIDEndpointMode,
		RequestChecksumCalculation: cfg.RequestChecksumCalculation, ResponseChecksumValidation: cfg.ResponseChecksumValidation,
		AuthSchemePreference: cfg.AuthSchemePreference,
		FIPS:                 o.EndpointOptions.UseFIPSEndpoint, DualStack: o.EndpointOptions.UseDualStackEndpoint,
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken, ID: creds.AccountID,
	}
	return r
}

// TestLoadMatchesLoadDefaultConfig builds a configuration both ways from
// the same environment (no shared config files, no IMDS, as in a Lambda)
// and compares what the SSM and Secrets Manager clients resolve.
func TestLoadMatchesLoadDefaultConfig(t *testing.T) {
	eight := func() aws.Retryer { return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 8 }) }
	tests := []struct {
		name    string
		env     []string
		retryer func() aws.Retryer
	}{
		{"Lambda defaults", nil, nil},
		{"every setting", []string{
			"AWS_REGION=", "AWS_DEFAULT_REGION=ap-southeast-2", "AWS_ACCOUNT_ID=123456789012",
			"AWS_ENDPOINT_URL=http://127.0.0.1:4566", "AWS_ENDPOINT_URL_SSM=http://127.0.0.1:4567",
			"AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:4568",
			"AWS_MAX_ATTEMPTS=5", "AWS_RETRY_MODE=adaptive", "AWS_SDK_UA_APP_ID=team-a",
			"AWS_DEFAULTS_MODE=in-region", "AWS_DISABLE_REQUEST_COMPRESSION=true",
			"AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES=100", "AWS_DISABLE_CLOCK_SKEW_CORRECTION=true",
			"AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled", "AWS_REQUEST_CHECKSUM_CALCULATION=when_required",
			"AWS_RESPONSE_CHECKSUM_VALIDATION=when_required", "AWS_AUTH_SCHEME_PREFERENCE=sigv4a,sigv4",
			"AWS_USE_FIPS_ENDPOINT=true", "AWS_USE_DUALSTACK_ENDPOINT=true",
		}, nil},
		{"configured endpoints ignored", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:4566",
			"AWS_ENDPOINT_URL_SSM=http://127.0.0.1:4567", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true"}, nil},
		{"defaults mode auto in Lambda", []string{"AWS_DEFAULTS_MODE=auto", "AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023"}, nil},
		{"a retryer of our own, AWS_MAX_ATTEMPTS and AWS_RETRY_MODE set", []string{"AWS_MAX_ATTEMPTS=2", "AWS_RETRY_MODE=adaptive"}, eight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, append(slices.Clone(lambdaEnv), tt.env...)...)
			var sdkOpts []func(*config.LoadOptions) error
			if tt.retryer != nil {
				sdkOpts = append(sdkOpts, config.WithRetryer(tt.retryer))
			}
			sdk, err := config.LoadDefaultConfig(context.Background(), sdkOpts...)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := Load(Options{Retryer: tt.retryer})
			if err != nil {
				t.Fatal(err)
			}
			want, got := resolve(t, sdk), resolve(t, ours)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("awsenv.Load resolves\n %+v\nconfig.LoadDefaultConfig resolves\n %+v", got, want)
			}
		})
	}
}

// TestContainerCredentialsMatchLoadDefaultConfig runs both loaders against
// a loopback container credentials endpoint whose credentials expire in
// 2 minutes, with a token file and a token, and compares what each asks
// of the endpoint over two Retrieve calls (the expiry window, the token
// that wins) and the credentials they get.
func TestContainerCredentialsMatchLoadDefaultConfig(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("file-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(load func() (aws.Config, error)) (requests []string, keyID string) {
		e := newCredsEndpoint(t, 2*time.Minute)
		setEnv(t, "AWS_REGION=eu-west-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI="+e.URL+"/creds",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN=env-token", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+tokenFile)
		cfg, err := load()
		if err != nil {
			t.Fatal(err)
		}
		var creds aws.Credentials
		for range 2 {
			if creds, err = cfg.Credentials.Retrieve(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		return e.requests(), creds.AccessKeyID
	}
	sdkReqs, sdkKey := run(func() (aws.Config, error) { return config.LoadDefaultConfig(context.Background()) })
	ourReqs, ourKey := run(func() (aws.Config, error) { return Load(Options{}) })
	if !slices.Equal(ourReqs, sdkReqs) || ourKey != sdkKey {
		t.Errorf("awsenv: endpoint requests %q, key %s; config.LoadDefaultConfig: %q, %s", ourReqs, ourKey, sdkReqs, sdkKey)
	}
	if len(sdkReqs) != 2 {
		t.Errorf("LoadDefaultConfig made %d requests; this test expects it to refresh credentials 2 minutes from expiry", len(sdkReqs))
	}
}
