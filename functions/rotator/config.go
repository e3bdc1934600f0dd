package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/emf"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// Bounds of the numeric variables.
const (
	maxConcurrency = 256
	minWriteRate   = 0.1
	maxWriteRate   = 10000

	minRequestTimeout = 100 * time.Millisecond
	maxRequestTimeout = 2 * time.Minute
)

// config is the function's configuration, read from its environment once at
// init by loadConfig. A zero Concurrency, WriteRate or Interval means
// package rotate's default (rotate.DefaultConcurrency, DefaultWriteRate,
// DefaultInterval).
type config struct {
	// ProfilesFile is the profiles document (PROFILES_FILE, required); a
	// relative path resolves against LAMBDA_TASK_ROOT.
	ProfilesFile string
	// Prefix is the parameter prefix (TOKEN_PARAMETER_PREFIX; default
	// tokenrecord.DefaultPrefix).
	Prefix string
	// KMSKeyID is the customer-managed KMS key of the SecureStrings
	// (KMS_KEY_ID; empty means aws/ssm).
	KMSKeyID string
	// Namespace is the CloudWatch namespace of the metrics
	// (METRICS_NAMESPACE; default emf.DefaultNamespace).
	Namespace string
	// Environment is the Environment dimension of the metrics, such as
	// sandbox or production (ENVIRONMENT; default emf.DefaultEnvironment).
	Environment string
	// Concurrency is how many profiles are refreshed at once
	// (ROTATOR_CONCURRENCY, 1 to 256).
	Concurrency int
	// WriteRate is the PutParameter calls per second the rotator may make
	// (ROTATOR_WRITE_RATE, 0.1 to 10000): the account's quota, 3 with
	// standard throughput and 10 with higher throughput, less what other
	// applications in the account and region write.
	WriteRate float64
	// Interval is how often the schedule fires (SCHEDULE_EXPRESSION,
	// rate(N minutes|hours|days); a cron expression means the default): a
	// profile deferred by the write budget whose token expires before the
	// next run is a failure.
	Interval time.Duration
	// RequestTimeout is how long one token request may take
	// (ROTATOR_REQUEST_TIMEOUT, a duration from 100ms to 2m; zero means
	// oauth.DefaultRequestTimeout): a request starts only with that much
	// of the run's time left, and write slots end that much earlier; the
	// run's lease grows to leave room for at least one whole request.
	RequestTimeout time.Duration
	// LogLevel is the least level logged (LOG_LEVEL: debug, info, warn or
	// error; default info).
	LogLevel slog.Level
}

// loadConfig reads the configuration with getenv (os.Getenv in main). Its
// one error names every invalid variable; the config returned with it holds
// the defaults and every valid value.
func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		Prefix:      getenv("TOKEN_PARAMETER_PREFIX"),
		KMSKeyID:    getenv("KMS_KEY_ID"),
		Namespace:   getenv("METRICS_NAMESPACE"),
		Environment: getenv("ENVIRONMENT"),
	}
	if cfg.Prefix == "" {
		cfg.Prefix = tokenrecord.DefaultPrefix
	}
	if cfg.Namespace == "" {
		cfg.Namespace = emf.DefaultNamespace
	}
	if cfg.Environment == "" {
		cfg.Environment = emf.DefaultEnvironment
	}
	var errs []error
	cfg.ProfilesFile = getenv("PROFILES_FILE")
	switch {
	case cfg.ProfilesFile == "":
		errs = append(errs, errors.New("PROFILES_FILE is not set"))
	case !filepath.IsAbs(cfg.ProfilesFile):
		if root := getenv("LAMBDA_TASK_ROOT"); root != "" {
			cfg.ProfilesFile = filepath.Join(root, cfg.ProfilesFile)
		}
	}
	if v := getenv("ROTATOR_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxConcurrency {
			errs = append(errs, fmt.Errorf("ROTATOR_CONCURRENCY=%q must be a whole number from 1 to %d", v, maxConcurrency))
		}
		cfg.Concurrency = n
	}
	if v := getenv("ROTATOR_WRITE_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < minWriteRate || f > maxWriteRate {
			errs = append(errs, fmt.Errorf("ROTATOR_WRITE_RATE=%q must be the PutParameter calls per second the rotator may make, from %g to %d (3 with Parameter Store's standard throughput, 10 with higher throughput)", v, minWriteRate, maxWriteRate))
		}
		cfg.WriteRate = f
	}
	if v := getenv("ROTATOR_REQUEST_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < minRequestTimeout || d > maxRequestTimeout {
			errs = append(errs, fmt.Errorf("ROTATOR_REQUEST_TIMEOUT=%q must be how long one token request may take, a duration from %s to %s such as 10s", v, minRequestTimeout, maxRequestTimeout))
		}
		cfg.RequestTimeout = d
	}
	if v := getenv("SCHEDULE_EXPRESSION"); v != "" {
		d, err := scheduleInterval(v)
		if err != nil {
			errs = append(errs, err)
		}
		cfg.Interval = d
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL=%q must be debug, info, warn or error", v))
		}
	}
	return cfg, errors.Join(errs...)
}

// scheduleInterval is how often an EventBridge schedule expression fires:
// rate(N unit). A cron expression has no single interval: it returns zero,
// and the rotator assumes rate(5 minutes)'s (rotate.DefaultInterval).
func scheduleInterval(expr string) (time.Duration, error) {
	if strings.HasPrefix(expr, "cron(") {
		return 0, nil
	}
	bad := fmt.Errorf("SCHEDULE_EXPRESSION=%q must be rate(N minutes|hours|days) or cron(...), as the template's ScheduleExpression", expr)
	inner, ok := strings.CutPrefix(expr, "rate(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return 0, bad
	}
	num, unit, ok := strings.Cut(strings.TrimSuffix(inner, ")"), " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 {
		return 0, bad
	}
	switch strings.TrimSuffix(unit, "s") {
	case "minute":
		return time.Duration(n) * time.Minute, nil
	case "hour":
		return time.Duration(n) * time.Hour, nil
	case "day":
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return 0, bad
}
