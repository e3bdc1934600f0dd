package awsenv

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/smithy-go/logging"
)

// Options adjust Load. The zero value is the SDK's defaults.
type Options struct {
	// Retryer, if set, builds each client's retryer, as config.WithRetryer
	// does: AWS_MAX_ATTEMPTS and AWS_RETRY_MODE are then not applied.
	Retryer func() aws.Retryer

	// Logger receives the SDK's own warnings and debug messages. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// The container credentials endpoint an ECS-style relative URI is resolved
// against, as the SDK resolves it (a variable for the tests).
var containerCredentialsHost = "http://169.254.170.2"

const (
	authTokenFileEnv = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	execEnvVar       = "AWS_EXECUTION_ENV"

	// containerExpiryWindow is how long before their expiry credentials
	// from a container endpoint are replaced, as the SDK's chain does.
	containerExpiryWindow = 5 * time.Minute
)

// Load returns the SDK configuration of the environment, parsed as the
// SDK's config.NewEnvConfig parses it (see envConfig) and resolved with
// LoadDefaultConfig's defaults and precedence:
//
//   - region: AWS_REGION, else AWS_DEFAULT_REGION (required);
//   - credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN; else AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
//     AWS_CONTAINER_CREDENTIALS_FULL_URI, with
//     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
//     AWS_CONTAINER_AUTHORIZATION_TOKEN (refreshed 5 minutes before expiry);
//   - endpoints: AWS_ENDPOINT_URL and the service-specific
//     AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL_SECRETS_MANAGER, unless
//     AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true; AWS_USE_FIPS_ENDPOINT and
//     AWS_USE_DUALSTACK_ENDPOINT;
//   - AWS_MAX_ATTEMPTS and AWS_RETRY_MODE (unless Options.Retryer is set),
//     AWS_SDK_UA_APP_ID, AWS_CA_BUNDLE, AWS_DEFAULTS_MODE, the request
//     compression, checksum, clock-skew, account-ID endpoint and auth scheme
//     preference settings.
//
// It does not read ~/.aws/config or ~/.aws/credentials, so AWS_PROFILE,
// AWS_DEFAULT_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE have
// no effect (when any is set, Load logs one warning that names it), and it
// asks IMDS for nothing. Unlike LoadDefaultConfig, it fails at once when
// there is no region or no credentials; the error names the variable that
// is missing or wrong.
func Load(o Options) (aws.Config, error) {
	env, err := readEnv(os.Getenv)
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsenv: %w", err)
	}
	if env.Region == "" {
		return aws.Config{}, errors.New("awsenv: no region: set AWS_REGION (the Lambda runtime sets it)")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	warnSharedConfig(logger, os.Getenv)
	// The fields and defaults config.LoadDefaultConfig resolves from the
	// environment, in its order of precedence.
	cfg := aws.Config{
		Region:                      env.Region,
		ConfigSources:               []any{env}, // service-specific endpoints, FIPS, dual-stack
		AppID:                       env.AppID,
		Retryer:                     o.Retryer,
		Logger:                      sdkLogger(logger),
		DefaultsMode:                cmp.Or(env.DefaultsMode, aws.DefaultsModeLegacy),
		RequestMinCompressSizeBytes: 10240,
		AccountIDEndpointMode:       cmp.Or(env.AccountIDEndpointMode, aws.AccountIDEndpointModePreferred),
		RequestChecksumCalculation:  cmp.Or(env.RequestChecksumCalculation, aws.RequestChecksumCalculationWhenSupported),
		ResponseChecksumValidation:  cmp.Or(env.ResponseChecksumValidation, aws.ResponseChecksumValidationWhenSupported),
		AuthSchemePreference:        env.AuthSchemePreference,
	}
	if o.Retryer == nil {
		cfg.RetryMaxAttempts, cfg.RetryMode = env.RetryMaxAttempts, env.RetryMode
	}
	if cfg.DefaultsMode == aws.DefaultsModeAuto {
		// As the SDK does, less the EC2 instance metadata region.
		cfg.RuntimeEnvironment = aws.RuntimeEnvironment{
			EnvironmentIdentifier: aws.ExecutionEnvironmentID(os.Getenv(execEnvVar)),
			Region:                env.Region,
		}
	}
	if env.RequestMinCompressSizeBytes != nil {
		cfg.RequestMinCompressSizeBytes = *env.RequestMinCompressSizeBytes
	}
	if env.DisableRequestCompression != nil {
		cfg.DisableRequestCompression = *env.DisableRequestCompression
	}
	if env.DisableClockSkewCorrection != nil {
		cfg.DisableClockSkewCorrection = *env.DisableClockSkewCorrection
	}
	if env.BaseEndpoint != "" && (env.IgnoreConfiguredEndpoints == nil || !*env.IgnoreConfiguredEndpoints) {
		cfg.BaseEndpoint = aws.String(env.BaseEndpoint)
	}
	if env.CustomCABundle != "" {
		if cfg.HTTPClient, err = withCABundle(env.CustomCABundle); err != nil {
			return aws.Config{}, err
		}
	}
	if cfg.Credentials, err = credentialsFrom(env, cfg); err != nil {
		return aws.Config{}, err
	}
	return cfg, nil
}

// sharedConfigVars point the SDK's default chain at shared config files
// and profiles, which Load does not read.
var sharedConfigVars = []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}

// warnSharedConfig logs one warning naming each of sharedConfigVars that
// getenv finds set: it has no effect here, which its setter may not know.
func warnSharedConfig(logger *slog.Logger, getenv func(string) string) {
	var set []string
	for _, k := range sharedConfigVars {
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	if len(set) > 0 {
		logger.Warn("awsenv: " + strings.Join(set, ", ") + " set but not read: the functions read no shared config file or profile, " +
			"and use the Lambda environment's credentials (the execution role's)")
	}
}

// credentialsFrom picks the credentials in the SDK's order: keys in the
// environment first, then a container credentials endpoint.
func credentialsFrom(env envConfig, cfg aws.Config) (aws.CredentialsProvider, error) {
	if env.Credentials.HasKeys() {
		return aws.NewCredentialsCache(credentials.StaticCredentialsProvider{Value: env.Credentials}), nil
	}
	endpoint := env.ContainerCredentialsEndpoint
	switch {
	case env.ContainerCredentialsRelativePath != "":
		endpoint = containerCredentialsHost + env.ContainerCredentialsRelativePath
	case endpoint != "":
		if err := checkCredentialsEndpoint(endpoint); err != nil {
			return nil, err
		}
	case os.Getenv("AWS_ACCESS_KEY_ID") != "" || os.Getenv("AWS_ACCESS_KEY") != "":
		return nil, errors.New("awsenv: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
	default:
		return nil, errors.New("awsenv: no AWS credentials in the environment: set AWS_ACCESS_KEY_ID and " +
			"AWS_SECRET_ACCESS_KEY (the Lambda runtime sets them from the execution role) or " +
			"AWS_CONTAINER_CREDENTIALS_FULL_URI")
	}
	provider := endpointcreds.New(endpoint, func(eo *endpointcreds.Options) {
		eo.AuthorizationToken = env.ContainerAuthorizationToken
		if path := os.Getenv(authTokenFileEnv); path != "" { // read at each refresh; wins over the token
			eo.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				b, err := os.ReadFile(path)
				if err != nil {
					return "", fmt.Errorf("awsenv: read %s: %w", authTokenFileEnv, err)
				}
				return string(b), nil
			})
		}
		eo.APIOptions = cfg.APIOptions
		if cfg.Retryer != nil {
			eo.Retryer = cfg.Retryer()
		}
	})
	return aws.NewCredentialsCache(provider, func(co *aws.CredentialsCacheOptions) {
		co.ExpiryWindow = containerExpiryWindow
	}), nil
}

// checkCredentialsEndpoint applies the SDK's rule to a full URI: plain
// HTTP only to a loopback address or the ECS and EKS credential agents,
// because the request carries the authorization token. Unlike the SDK it
// does not resolve host names other than localhost.
func checkCredentialsEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("awsenv: AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL with a host")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || agentIPs[ip.String()]) {
			return nil
		}
		return fmt.Errorf("awsenv: AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http only to loopback or the ECS/EKS credential agent, not %q", host)
	default:
		return fmt.Errorf("awsenv: AWS_CONTAINER_CREDENTIALS_FULL_URI: scheme %q, want https or http", u.Scheme)
	}
}

// agentIPs are the addresses of the ECS and EKS Pod Identity credential
// agents, which the SDK also allows over plain HTTP.
var agentIPs = map[string]bool{"169.254.170.2": true, "169.254.170.23": true, "fd00:ec2::23": true}

// withCABundle returns an HTTP client that trusts the PEM certificates in
// the file at path, in place of the system roots, as the SDK does.
func withCABundle(path string) (aws.HTTPClient, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("awsenv: AWS_CA_BUNDLE: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("awsenv: AWS_CA_BUNDLE: no PEM certificate in %s", path)
	}
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
	}), nil
}

// sdkLogger routes the SDK's messages to logger as JSON lines: warnings at
// Warn, the rest at Debug.
func sdkLogger(logger *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		logger.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
	})
}
