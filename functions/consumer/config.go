package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/emf"
	"github.com/m2mtokens/oauth-token-rotator/internal/urlpolicy"
	"github.com/m2mtokens/oauth-token-rotator/internal/version"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// config is the function's configuration, read from its environment once at
// init by loadConfig.
type config struct {
	// Profile is the profile whose token the function uses (PROFILE,
	// required).
	Profile string
	// BaseURL is the partner API's base URL (API_BASE_URL, required): https,
	// or http to a loopback host (127.0.0.0/8, ::1, localhost). Event paths
	// are appended to its path.
	BaseURL *url.URL
	// UserAgent is sent with every request (USER_AGENT, optional; default
	// version.UserAgent("consumer")).
	UserAgent string
	// ParameterPrefix is where the rotator writes token records
	// (TOKEN_PARAMETER_PREFIX, optional; default tokenrecord.DefaultPrefix).
	ParameterPrefix string
	// Namespace is the CloudWatch namespace of the metrics
	// (METRICS_NAMESPACE, optional; default emf.DefaultNamespace).
	Namespace string
	// Environment is the Environment dimension of the metrics (ENVIRONMENT,
	// optional; default emf.DefaultEnvironment).
	Environment string
	// MinReadInterval is the shortest time between two reads of the
	// parameter after a failed read, or after a 401 whose re-read returned
	// the same token (TOKEN_MIN_READ_INTERVAL, optional, a Go duration such
	// as 5s; zero means tokencache.DefaultMinReadInterval and a negative
	// value turns the guard off).
	MinReadInterval time.Duration
	// Reader is where the records are when they are in another account or
	// region (TOKEN_READER_ROLE_ARN, TOKEN_REGION, optional; see
	// readerRole).
	Reader readerRole
	// SessionName names the reader role's sessions
	// (AWS_LAMBDA_FUNCTION_NAME, set by Lambda; see sessionName).
	SessionName string
}

// loadConfig reads the configuration with getenv (os.Getenv in main). Its
// one error names every invalid variable.
func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		Profile:         strings.TrimSpace(getenv("PROFILE")),
		UserAgent:       strings.TrimSpace(getenv("USER_AGENT")),
		ParameterPrefix: strings.TrimSpace(getenv("TOKEN_PARAMETER_PREFIX")),
		Namespace:       strings.TrimSpace(getenv("METRICS_NAMESPACE")),
		Environment:     strings.TrimSpace(getenv("ENVIRONMENT")),
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = version.UserAgent("consumer")
	}
	if cfg.ParameterPrefix == "" {
		cfg.ParameterPrefix = tokenrecord.DefaultPrefix
	}
	if cfg.Namespace == "" {
		cfg.Namespace = emf.DefaultNamespace
	}
	if cfg.Environment == "" {
		cfg.Environment = emf.DefaultEnvironment
	}

	var errs []error
	bad := func(variable, format string, args ...any) {
		errs = append(errs, fmt.Errorf("consumer: %s %s", variable, fmt.Sprintf(format, args...)))
	}
	if cfg.Profile == "" {
		bad("PROFILE", "is required: the profile whose token this function uses")
	} else if err := tokenrecord.CheckProfileName(cfg.Profile); err != nil {
		bad("PROFILE", "%q is not a profile name: it %v", cfg.Profile, err)
	}
	var err error
	if cfg.BaseURL, err = parseBaseURL(getenv("API_BASE_URL")); err != nil {
		bad("API_BASE_URL", "%v", err)
	}
	if !printable(cfg.UserAgent) {
		bad("USER_AGENT", "contains control characters")
	}
	if !strings.HasPrefix(cfg.ParameterPrefix, "/") || !onlyChars(cfg.ParameterPrefix, ".-_/") {
		bad("TOKEN_PARAMETER_PREFIX", "%q must start with '/' and hold only letters, digits, '.', '_', '-' and '/'", cfg.ParameterPrefix)
	}
	if !onlyChars(cfg.Namespace, ".-_/#:") {
		bad("METRICS_NAMESPACE", "%q may hold only letters, digits and . - _ / # :", cfg.Namespace)
	}
	if !printable(cfg.Environment) {
		bad("ENVIRONMENT", "contains control characters")
	}
	if v := strings.TrimSpace(getenv("TOKEN_MIN_READ_INTERVAL")); v != "" {
		if cfg.MinReadInterval, err = time.ParseDuration(v); err != nil {
			bad("TOKEN_MIN_READ_INTERVAL", "%q is not a duration such as 5s", v)
		}
	}
	if cfg.Reader, err = readerRoleFromEnv(getenv); err != nil {
		errs = append(errs, err)
	}
	cfg.SessionName = sessionName(getenv)
	return cfg, errors.Join(errs...)
}

// parseBaseURL checks API_BASE_URL: an absolute http(s) URL without
// credentials, query or fragment, https unless the host is loopback.
func parseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("is required: the partner API's base URL, for example https://api.example.com")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("must be an absolute http(s) URL such as https://api.example.com")
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q must not contain credentials", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must not have a query or fragment", u.Redacted())
	}
	if !urlpolicy.Secure(u) {
		return nil, fmt.Errorf("%q must use https (http is accepted only for loopback hosts)", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u, nil
}

// onlyChars reports whether s is non-empty and holds only ASCII letters,
// digits and the runes in extra.
func onlyChars(s, extra string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return s != ""
}

// printable reports whether s has no control characters (so it is safe in
// a header or a metric dimension).
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
