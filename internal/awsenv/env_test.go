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

// envView is what Load takes from the environment, however parsed.
type envView struct {
	Region, AppID, BaseEndpoint, CustomCABundle      string
	DefaultsMode                                     aws.DefaultsMode
	AccountIDEndpointMode                            aws.AccountIDEndpointMode
	RequestChecksumCalculation                       aws.RequestChecksumCalculation
	ResponseChecksumValidation                       aws.ResponseChecksumValidation
	AuthSchemePreference                             []string
	RetryMaxAttempts                                 int
	RetryMode                                        aws.RetryMode
	RequestMinCompressSizeBytes                      *int64
	DisableRequestCompression                        *bool
	DisableClockSkewCorrection                       *bool
	Credentials                                      aws.Credentials
	ContainerEndpoint, ContainerPath, ContainerToken string
	// What the service clients ask of the configuration source.
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

func (v *envView) ask(s source) {
	ctx := context.Background()
	v.SSMEndpoint, _, _ = s.GetServiceBaseEndpoint(ctx, "SSM")
	v.SecretsEndpoint, _, _ = s.GetServiceBaseEndpoint(ctx, "Secrets Manager")
	v.Ignore, v.IgnoreFound, _ = s.GetIgnoreConfiguredEndpoints(ctx)
	v.FIPS, _, _ = s.GetUseFIPSEndpoint(ctx)
	v.DualStack, _, _ = s.GetUseDualStackEndpoint(ctx)
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
			want := envView{Region: sdk.Region, AppID: sdk.AppID, BaseEndpoint: sdk.BaseEndpoint, CustomCABundle: sdk.CustomCABundle,
				DefaultsMode: sdk.DefaultsMode, AccountIDEndpointMode: sdk.AccountIDEndpointMode,
				RequestChecksumCalculation: sdk.RequestChecksumCalculation, ResponseChecksumValidation: sdk.ResponseChecksumValidation,
				AuthSchemePreference: sdk.AuthSchemePreference, RetryMaxAttempts: sdk.RetryMaxAttempts, RetryMode: sdk.RetryMode,
				RequestMinCompressSizeBytes: sdk.RequestMinCompressSizeBytes, DisableRequestCompression: sdk.DisableRequestCompression,
				DisableClockSkewCorrection: sdk.DisableClockSkewCorrection, Credentials: sdk.Credentials,
				ContainerEndpoint: sdk.ContainerCredentialsEndpoint, ContainerPath: sdk.ContainerCredentialsRelativePath, ContainerToken: sdk.ContainerAuthorizationToken}
			want.ask(sdk)
			got := envView{Region: ours.Region, AppID: ours.AppID, BaseEndpoint: ours.BaseEndpoint, CustomCABundle: ours.CustomCABundle,
				DefaultsMode: ours.DefaultsMode, AccountIDEndpointMode: ours.AccountIDEndpointMode,
				RequestChecksumCalculation: ours.RequestChecksumCalculation, ResponseChecksumValidation: ours.ResponseChecksumValidation,
				AuthSchemePreference: ours.AuthSchemePreference, RetryMaxAttempts: ours.RetryMaxAttempts, RetryMode: ours.RetryMode,
				RequestMinCompressSizeBytes: ours.RequestMinCompressSizeBytes, DisableRequestCompression: ours.DisableRequestCompression,
				DisableClockSkewCorrection: ours.DisableClockSkewCorrection, Credentials: ours.Credentials,
				ContainerEndpoint: ours.ContainerCredentialsEndpoint, ContainerPath: ours.ContainerCredentialsRelativePath, ContainerToken: ours.ContainerAuthorizationToken}
			got.ask(ours)
			if len(want.AuthSchemePreference) == 0 && len(got.AuthSchemePreference) == 0 {
				want.AuthSchemePreference, got.AuthSchemePreference = nil, nil // empty either way
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("readEnv =\n %+v\nconfig.NewEnvConfig =\n %+v", got, want)
			}
		})
	}
}
