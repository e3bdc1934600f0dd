package awsenv

import (
	"context"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// fromSDK is what Load takes from config.NewEnvConfig's parse, as an
// envConfig.
func fromSDK(c config.EnvConfig) envConfig {
	return envConfig{Region: c.Region, AppID: c.AppID, BaseEndpoint: c.BaseEndpoint, CustomCABundle: c.CustomCABundle,
		DefaultsMode: c.DefaultsMode, AccountIDEndpointMode: c.AccountIDEndpointMode,
		RequestChecksumCalculation: c.RequestChecksumCalculation, ResponseChecksumValidation: c.ResponseChecksumValidation,
		AuthSchemePreference: c.AuthSchemePreference, RetryMaxAttempts: c.RetryMaxAttempts, RetryMode: c.RetryMode,
		RequestMinCompressSizeBytes: c.RequestMinCompressSizeBytes, DisableRequestCompression: c.DisableRequestCompression,
		DisableClockSkewCorrection: c.DisableClockSkewCorrection, IgnoreConfiguredEndpoints: c.IgnoreConfiguredEndpoints,
		UseFIPSEndpoint: c.UseFIPSEndpoint, UseDualStackEndpoint: c.UseDualStackEndpoint, Credentials: c.Credentials,
		ContainerCredentialsEndpoint: c.ContainerCredentialsEndpoint, ContainerCredentialsRelativePath: c.ContainerCredentialsRelativePath,
		ContainerAuthorizationToken: c.ContainerAuthorizationToken}
}

// answers is what the service clients ask of a configuration source.
type answers struct {
	SSMEndpoint, SecretsEndpoint string
	Ignore, IgnoreFound          bool
	FIPS                         aws.FIPSEndpointState
	DualStack                    aws.DualStackEndpointState
}

// source is what a service client asks of aws.Config.ConfigSources.
type source interface {
	GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
	GetIgnoreConfiguredEndpoints(ctx context.Context) (bool, bool, error)
	GetUseFIPSEndpoint(ctx context.Context) (aws.FIPSEndpointState, bool, error)
	GetUseDualStackEndpoint(ctx context.Context) (aws.DualStackEndpointState, bool, error)
}

var (
	_ source = envConfig{}
	_ source = config.EnvConfig{}
)

func ask(s source) (a answers) {
	ctx := context.Background()
	a.SSMEndpoint, _, _ = s.GetServiceBaseEndpoint(ctx, "SSM")
	a.SecretsEndpoint, _, _ = s.GetServiceBaseEndpoint(ctx, "Secrets Manager")
	a.Ignore, a.IgnoreFound, _ = s.GetIgnoreConfiguredEndpoints(ctx)
	a.FIPS, _, _ = s.GetUseFIPSEndpoint(ctx)
	a.DualStack, _, _ = s.GetUseDualStackEndpoint(ctx)
	return a
}

// TestEnvMatchesNewEnvConfig parses the same environments with readEnv and
// with config.NewEnvConfig, which readEnv replaces in the bootstraps:
// every value Load uses, every answer the service clients ask for, and
// whether the environment is refused must be the same.
func TestEnvMatchesNewEnvConfig(t *testing.T) {
	for _, env := range [][]string{
		nil,
		{"AWS_REGION=", "AWS_DEFAULT_REGION=ap-southeast-2", "AWS_ACCESS_KEY=old-style", "AWS_SECRET_KEY=old-secret", "AWS_ACCOUNT_ID=123456789012"},
		{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=orphan", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/creds",
			"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN=tok"},
		{"AWS_ENDPOINT_URL=http://127.0.0.1:4566", "AWS_ENDPOINT_URL_SSM=http://127.0.0.1:4567", "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:4568",
			"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=TRUE", "AWS_CA_BUNDLE=/ca.pem", "AWS_SDK_UA_APP_ID=team-a"},
		{"AWS_MAX_ATTEMPTS=5", "AWS_RETRY_MODE=adaptive", "AWS_DEFAULTS_MODE=In-Region", "AWS_DISABLE_REQUEST_COMPRESSION=false",
			"AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES=10485760", "AWS_DISABLE_CLOCK_SKEW_CORRECTION=True", "AWS_ACCOUNT_ID_ENDPOINT_MODE=required",
			"AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED", "AWS_RESPONSE_CHECKSUM_VALIDATION=when_supported",
			"AWS_AUTH_SCHEME_PREFERENCE= sigv4a , ,sigv4", "AWS_USE_FIPS_ENDPOINT=false", "AWS_USE_DUALSTACK_ENDPOINT=true"},
		{"AWS_MAX_ATTEMPTS=many"},
		{"AWS_RETRY_MODE=eager"},
		{"AWS_DEFAULTS_MODE=fast"},
		{"AWS_DISABLE_REQUEST_COMPRESSION=yes"},
		{"AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES=10485761"},
		{"AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES=-1"},
		{"AWS_DISABLE_CLOCK_SKEW_CORRECTION=1"},
		{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=on"},
		{"AWS_ACCOUNT_ID_ENDPOINT_MODE=Preferred"},
		{"AWS_REQUEST_CHECKSUM_CALCULATION=always"},
		{"AWS_RESPONSE_CHECKSUM_VALIDATION=never"},
		{"AWS_USE_FIPS_ENDPOINT=enabled"},
		{"AWS_USE_DUALSTACK_ENDPOINT=0"},
	} {
		t.Run(strings.Join(env, " "), func(t *testing.T) {
			setEnv(t, append(slices.Clone(lambdaEnv), env...)...)
			sdk, sdkErr := config.NewEnvConfig()
			ours, err := readEnv(os.Getenv)
			if (err != nil) != (sdkErr != nil) {
				t.Fatalf("readEnv error = %v; config.NewEnvConfig error = %v; want both or neither", err, sdkErr)
			}
			if err != nil {
				if name, _, _ := strings.Cut(env[0], "="); !strings.Contains(err.Error(), name) {
					t.Errorf("readEnv error = %v; want it to name %s", err, name)
				}
				return
			}
			if got, want := ask(ours), ask(sdk); got != want {
				t.Errorf("the service clients would get %+v from readEnv, %+v from config.NewEnvConfig", got, want)
			}
			want := fromSDK(sdk)
			ours.getenv = nil
			if len(want.AuthSchemePreference) == 0 && len(ours.AuthSchemePreference) == 0 {
				want.AuthSchemePreference, ours.AuthSchemePreference = nil, nil // empty either way
			}
			if !reflect.DeepEqual(ours, want) {
				t.Errorf("readEnv =\n %+v\nconfig.NewEnvConfig =\n %+v", ours, want)
			}
		})
	}
}
