package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/m2mtokens/oauth-token-rotator/internal/emf"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// env is the function's configuration.
type env struct {
	ProfilesFile string
	Prefix       string
	KMSKeyID     string
	Namespace    string
	Environment  string
	Concurrency  int
	WriteRate    float64
	Interval     time.Duration
	LogLevel     slog.Level
	Err          error
}

func readEnv(get func(string) string) env {
	e := env{
		Prefix:      get("TOKEN_PARAMETER_PREFIX"),
		KMSKeyID:    get("KMS_KEY_ID"),
		Namespace:   get("METRICS_NAMESPACE"),
		Environment: get("ENVIRONMENT"),
	}
	if e.Prefix == "" {
		e.Prefix = tokenrecord.DefaultPrefix
	}
	if e.Namespace == "" {
		e.Namespace = "OAuthTokenRotator"
	}
	if e.Environment == "" {
		e.Environment = "local"
	}
	var errs []error
	e.ProfilesFile = get("PROFILES_FILE")
	switch {
	case e.ProfilesFile == "":
		errs = append(errs, errors.New("PROFILES_FILE is not set"))
	case !filepath.IsAbs(e.ProfilesFile):
		root := get("LAMBDA_TASK_ROOT")
		if root != "" {
			e.ProfilesFile = filepath.Join(root, e.ProfilesFile)
		}
	}
	if v := get("ROTATOR_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			errs = append(errs, fmt.Errorf("ROTATOR_CONCURRENCY=%q must be a whole number from 1 to 256", v))
		}
		e.Concurrency = n
	}
	if v := get("ROTATOR_WRITE_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0.1 || f > 10000 {
			errs = append(errs, fmt.Errorf("ROTATOR_WRITE_RATE=%q must be the PutParameter calls per second the rotator may make, from 0.1 to 10000 (3 with Parameter Store's standard throughput, 10 with higher throughput)", v))
		}
		e.WriteRate = f
	}
	if v := get("SCHEDULE_EXPRESSION"); v != "" {
		d, err := scheduleInterval(v)
		if err != nil {
			errs = append(errs, err)
		}
		e.Interval = d
	}
	if v := get("LOG_LEVEL"); v != "" {
		if err := e.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL=%q must be debug, info, warn or error", v))
		}
	}
	e.Err = errors.Join(errs...)
	return e
}

type handlerDeps struct {
	Secrets rotate.Secrets
	Store   rotate.Store
	Fetcher rotate.Fetcher
	Logger  *slog.Logger
	Metrics io.Writer
	Now     func() time.Time
	// SSMThrottles counts the SSM calls throttled so far (nil: none seen).
	SSMThrottles func() int64
}

// handler runs the rotator for each invocation. A configuration error (bad
// environment, invalid profiles document) is found once at start and
// returned by every invocation, so no stored token is ever touched by a
// run with a bad document.
type handler struct {
	rotator   rotate.Rotator
	configErr error
	env       env
	logger    *slog.Logger
	metricsMu sync.Mutex
	metrics   io.Writer
	now       func() time.Time
	// margin is kept free before the Lambda deadline to answer.
	margin time.Duration
	// throttles and lastThrottles count SSM throttling per run.
	throttles     func() int64
	lastThrottles atomic.Int64
}

func newHandler(e env, d handlerDeps) *handler {
	h := &handler{env: e, logger: d.Logger, metrics: d.Metrics, now: d.Now, margin: 5 * time.Second, throttles: d.SSMThrottles}
	if h.now == nil {
		h.now = time.Now
	}
	h.configErr = e.Err
	var ps []profile.Profile
	if h.configErr == nil {
		var err error
		ps, err = profile.Load(e.ProfilesFile, profile.Options{ParameterPrefix: e.Prefix})
		h.configErr = err
	}
	if h.configErr == nil {
		h.configErr = checkReserved(ps, e.Prefix)
	}
	if h.configErr != nil {
		h.configErr = fmt.Errorf("rotator: configuration is invalid, no token was touched: %w", h.configErr)
		h.logger.Error("configuration invalid", "error", h.configErr.Error())
	} else {
		h.logger.Info("configuration loaded", "profiles", len(ps), "profiles_file", e.ProfilesFile, "prefix", e.Prefix)
	}
	h.rotator = rotate.Rotator{
		Profiles: ps, Secrets: d.Secrets, Fetcher: d.Fetcher, Store: d.Store,
		Concurrency: e.Concurrency, Now: d.Now, Logger: d.Logger,
		WriteRate: e.WriteRate, Interval: e.Interval,
		Lease:    rotate.RunLease(e.Prefix),      // <prefix>/.rotator.lock, shared by every run of this prefix
		Failures: rotate.FailureRecord(e.Prefix), // <prefix>/.rotator.failures, read by {"status": true}
	}
	return h
}

// parseEvent turns an invocation payload into a run request: an
// EventBridge scheduled event (or an empty payload) is a scheduled run; an
// object with force/profiles/check_credentials is an on-demand run.
func parseEvent(raw json.RawMessage) (rotate.Request, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" || string(trimmed) == "{}" {
		return rotate.Request{}, nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return rotate.Request{}, errors.New("rotator: event is not a JSON object")
	}
	if _, ok := probe["detail-type"]; ok {
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(trimmed, &ev); err != nil {
			return rotate.Request{}, fmt.Errorf("rotator: malformed EventBridge event: %v", err)
		}
		if ev.Source == secretsSource {
			return credentialsRequest(ev)
		}
		if ev.Source != "aws.events" || ev.DetailType != "Scheduled Event" {
			return rotate.Request{}, fmt.Errorf("rotator: unexpected EventBridge event %q from %q", ev.DetailType, ev.Source)
		}
		return rotate.Request{}, nil
	}
	var req rotate.Request
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return rotate.Request{}, fmt.Errorf(`rotator: unrecognised event (want a scheduled event or {"force": true, "profiles": [...]}): %v`, err)
	}
	return req, nil
}

// Handle is the Lambda entry point.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (rotate.Summary, error) {
	if h.configErr != nil {
		return rotate.Summary{}, h.configErr
	}
	req, err := parseEvent(raw)
	var ignored *ignoredEvent
	if errors.As(err, &ignored) {
		h.logger.Info("event ignored", "why", ignored.why)
		return rotate.Summary{Refreshed: []rotate.Outcome{}, Skipped: []rotate.Outcome{}, Failed: []rotate.Outcome{}, Deferred: []rotate.Outcome{}}, nil
	}
	if err != nil {
		h.logger.Error("bad event", "error", err.Error())
		return rotate.Summary{}, err
	}
	r := h.rotator // a copy per invocation, named after it in leases
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.Owner = lc.AwsRequestID
	}
	return h.run(ctx, &r, req)
}

func (h *handler) run(ctx context.Context, r *rotate.Rotator, req rotate.Request) (rotate.Summary, error) {
	if dl, ok := ctx.Deadline(); ok {
		// Keep a margin to answer: 5 s, or a tenth of a short timeout.
		margin := min(h.margin, time.Until(dl)/10)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	sum, err := r.Run(ctx, req)
	if errors.Is(err, rotate.ErrUnknownProfile) {
		return sum, err
	}
	h.emitMetrics(sum)
	h.logger.Info("run finished", "force", req.Force, "refreshed", len(sum.Refreshed), "skipped", len(sum.Skipped), "failed", len(sum.Failed), "deferred", len(sum.Deferred))
	return sum, err
}

// emitMetrics writes CloudWatch Embedded Metric Format lines: one per
// profile with the seconds left on its stored token, and one for the run.
func (h *handler) emitMetrics(sum rotate.Summary) {
	if h.metrics == nil {
		return
	}
	now := h.now()
	env := emf.Dimension{Name: "Environment", Value: h.env.Environment}
	minLeft := -1.0
	var out []byte
	for _, o := range sum.Outcomes() {
		left := 0.0
		if o.ExpiresAt != nil {
			left = max(0, o.ExpiresAt.Sub(now).Seconds())
		}
		if minLeft < 0 || left < minLeft {
			minLeft = left
		}
		out = append(out, emf.Line(h.env.Namespace, now, []emf.Dimension{env, {Name: "Profile", Value: o.Profile}},
			emf.Metric{Name: "SecondsUntilExpiry", Unit: emf.Seconds, Value: left})...)
	}
	run := []emf.Metric{
		{Name: "ProfilesRefreshed", Unit: emf.Count, Value: float64(len(sum.Refreshed))},
		{Name: "ProfilesSkipped", Unit: emf.Count, Value: float64(len(sum.Skipped))},
		{Name: "ProfilesFailed", Unit: emf.Count, Value: float64(len(sum.Failed))},
		{Name: "ProfilesDeferred", Unit: emf.Count, Value: float64(len(sum.Deferred))},
	}
	if minLeft >= 0 {
		run = append(run, emf.Metric{Name: "MinSecondsUntilExpiry", Unit: emf.Seconds, Value: minLeft})
	}
	audit, runAudit := h.auditMetrics(sum, now, env)
	out = append(out, audit...)
	run = append(run, runAudit...)
	out = append(out, emf.Line(h.env.Namespace, now, []emf.Dimension{env}, run...)...)
	h.metricsMu.Lock()
	defer h.metricsMu.Unlock()
	_, _ = h.metrics.Write(out)
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
