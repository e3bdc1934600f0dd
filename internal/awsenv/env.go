package awsenv

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// credentialsSource is the Source of credentials read from the
// environment, as config.NewEnvConfig names it.
const credentialsSource = "EnvConfigCredentials"

// maxMinCompressSize is the largest AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES
// the SDK accepts (10 MiB).
const maxMinCompressSize = 10 << 20

// envConfig is the part of the SDK's shared environment that the
// functions use, parsed as config.NewEnvConfig parses it (its
// TestEnvMatchesNewEnvConfig keeps the two in step). Reading it here
// instead of calling config.NewEnvConfig keeps package config, and the
// SSO, STS, sign-in and IMDS clients whose package inits it links, out of
// the bootstraps: about 320 KiB each.
//
// It is also the configuration source (aws.Config.ConfigSources) that the
// service clients ask for their own endpoint (AWS_ENDPOINT_URL_<SERVICE>),
// FIPS and dual-stack settings.
type envConfig struct {
	Region, AppID, BaseEndpoint, CustomCABundle string
	DefaultsMode                                aws.DefaultsMode
	AccountIDEndpointMode                       aws.AccountIDEndpointMode
	RequestChecksumCalculation                  aws.RequestChecksumCalculation
	ResponseChecksumValidation                  aws.ResponseChecksumValidation
	AuthSchemePreference                        []string
	RetryMaxAttempts                            int
	RetryMode                                   aws.RetryMode
	RequestMinCompressSizeBytes                 *int64
	DisableRequestCompression                   *bool
	DisableClockSkewCorrection                  *bool
	IgnoreConfiguredEndpoints                   *bool
	UseFIPSEndpoint                             aws.FIPSEndpointState
	UseDualStackEndpoint                        aws.DualStackEndpointState
	Credentials                                 aws.Credentials

	ContainerCredentialsEndpoint, ContainerCredentialsRelativePath, ContainerAuthorizationToken string

	getenv func(string) string
}

// readEnv parses the environment that getenv reads. The error names the
// first variable with a value the SDK would refuse.
func readEnv(getenv func(string) string) (envConfig, error) {
	e := envConfig{
		Region:                           first(getenv, "AWS_REGION", "AWS_DEFAULT_REGION"),
		AppID:                            getenv("AWS_SDK_UA_APP_ID"),
		BaseEndpoint:                     getenv("AWS_ENDPOINT_URL"),
		CustomCABundle:                   getenv("AWS_CA_BUNDLE"),
		AuthSchemePreference:             schemeList(getenv("AWS_AUTH_SCHEME_PREFERENCE")),
		ContainerCredentialsEndpoint:     getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
		ContainerCredentialsRelativePath: getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
		ContainerAuthorizationToken:      getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
		getenv:                           getenv,
	}
	creds := aws.Credentials{Source: credentialsSource,
		AccessKeyID: first(getenv, "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"), SecretAccessKey: first(getenv, "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")}
	if creds.HasKeys() {
		creds.AccountID, creds.SessionToken = getenv("AWS_ACCOUNT_ID"), getenv("AWS_SESSION_TOKEN")
		e.Credentials = creds
	}
	p := envParser{getenv: getenv}
	e.DisableRequestCompression = p.boolPtr("AWS_DISABLE_REQUEST_COMPRESSION")
	e.RequestMinCompressSizeBytes = p.compressSize("AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES")
	e.DisableClockSkewCorrection = p.boolPtr("AWS_DISABLE_CLOCK_SKEW_CORRECTION")
	e.IgnoreConfiguredEndpoints = p.boolPtr("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
	if b := p.boolPtr("AWS_USE_DUALSTACK_ENDPOINT"); b != nil {
		e.UseDualStackEndpoint = map[bool]aws.DualStackEndpointState{true: aws.DualStackEndpointStateEnabled, false: aws.DualStackEndpointStateDisabled}[*b]
	}
	if b := p.boolPtr("AWS_USE_FIPS_ENDPOINT"); b != nil {
		e.UseFIPSEndpoint = map[bool]aws.FIPSEndpointState{true: aws.FIPSEndpointStateEnabled, false: aws.FIPSEndpointStateDisabled}[*b]
	}
	p.parse("AWS_DEFAULTS_MODE", "auto, cross-region, in-region, legacy, mobile or standard", func(v string) bool { return e.DefaultsMode.SetFromString(v) })
	p.parse("AWS_MAX_ATTEMPTS", "a whole number", func(v string) bool {
		n, err := strconv.ParseInt(v, 10, 64)
		e.RetryMaxAttempts = int(n)
		return err == nil
	})
	p.parse("AWS_RETRY_MODE", "standard or adaptive", func(v string) bool {
		var err error
		e.RetryMode, err = aws.ParseRetryMode(v)
		return err == nil
	})
	p.parse("AWS_ACCOUNT_ID_ENDPOINT_MODE", "preferred, required or disabled", func(v string) bool {
		e.AccountIDEndpointMode = aws.AccountIDEndpointMode(v)
		return v == "preferred" || v == "required" || v == "disabled"
	})
	p.parse("AWS_REQUEST_CHECKSUM_CALCULATION", "when_supported or when_required", func(v string) bool {
		m := map[string]aws.RequestChecksumCalculation{"when_supported": aws.RequestChecksumCalculationWhenSupported, "when_required": aws.RequestChecksumCalculationWhenRequired}
		e.RequestChecksumCalculation = m[strings.ToLower(v)]
		return e.RequestChecksumCalculation != 0
	})
	p.parse("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_supported or when_required", func(v string) bool {
		m := map[string]aws.ResponseChecksumValidation{"when_supported": aws.ResponseChecksumValidationWhenSupported, "when_required": aws.ResponseChecksumValidationWhenRequired}
		e.ResponseChecksumValidation = m[strings.ToLower(v)]
		return e.ResponseChecksumValidation != 0
	})
	return e, p.err
}

// envParser parses variables, keeping the first error.
type envParser struct {
	getenv func(string) string
	err    error
}

// parse hands the value of name, if set, to set, which reports whether it
// is valid: if not, the error names the variable and what it may be.
func (p *envParser) parse(name, want string, set func(string) bool) {
	if v := p.getenv(name); v != "" && !set(v) && p.err == nil {
		p.err = fmt.Errorf("invalid value for environment variable, %s=%s: want %s", name, v, want)
	}
}

// boolPtr is name's value when it is set: true or false, in any case.
func (p *envParser) boolPtr(name string) *bool {
	var b *bool
	p.parse(name, "true or false", func(v string) bool {
		t, f := strings.EqualFold(v, "true"), strings.EqualFold(v, "false")
		b = &t
		return t || f
	})
	return b
}

// compressSize is name's value when it is set: from 0 to 10 MiB.
func (p *envParser) compressSize(name string) *int64 {
	var n *int64
	p.parse(name, fmt.Sprintf("a whole number from 0 to %d", maxMinCompressSize), func(v string) bool {
		i, err := strconv.ParseInt(v, 10, 64)
		n = &i
		return err == nil && i >= 0 && i <= maxMinCompressSize
	})
	return n
}

// first is the first of names set, or "".
func first(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// schemeList splits AWS_AUTH_SCHEME_PREFERENCE at commas, without blanks.
func schemeList(v string) []string {
	var ids []string
	for p := range strings.SplitSeq(v, ",") {
		if id := strings.TrimSpace(p); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<SDK ID> (upper case,
// spaces as underscores: AWS_ENDPOINT_URL_SECRETS_MANAGER), as the SDK's
// configured endpoints do.
func (e envConfig) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := e.getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

// GetIgnoreConfiguredEndpoints returns AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (e envConfig) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	if e.IgnoreConfiguredEndpoints == nil {
		return false, false, nil
	}
	return *e.IgnoreConfiguredEndpoints, true, nil
}

// GetUseFIPSEndpoint returns AWS_USE_FIPS_ENDPOINT.
func (e envConfig) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	return e.UseFIPSEndpoint, e.UseFIPSEndpoint != aws.FIPSEndpointStateUnset, nil
}

// GetUseDualStackEndpoint returns AWS_USE_DUALSTACK_ENDPOINT.
func (e envConfig) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	return e.UseDualStackEndpoint, e.UseDualStackEndpoint != aws.DualStackEndpointStateUnset, nil
}
