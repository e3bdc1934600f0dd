package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/m2mtokens/oauth-token-rotator/internal/emf"
	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
)

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
	cfg       config
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

// newHandler builds the handler for cfg and loads its profiles document.
// cfgErr is loadConfig's error: when it or the document is invalid, every
// invocation returns that error and touches no token.
func newHandler(cfg config, cfgErr error, d handlerDeps) *handler {
	h := &handler{cfg: cfg, logger: d.Logger, metrics: d.Metrics, now: d.Now, margin: 5 * time.Second, throttles: d.SSMThrottles}
	if h.now == nil {
		h.now = time.Now
	}
	h.configErr = cfgErr
	var ps []profile.Profile
	if h.configErr == nil {
		var err error
		ps, err = profile.Load(cfg.ProfilesFile, profile.Options{ParameterPrefix: cfg.Prefix})
		h.configErr = err
	}
	if h.configErr == nil {
		h.configErr = checkReserved(ps, cfg.Prefix)
	}
	if h.configErr != nil {
		h.configErr = fmt.Errorf("rotator: configuration is invalid, no token was touched: %w", h.configErr)
		h.logger.Error("configuration invalid", "error", h.configErr.Error())
	} else {
		h.logger.Info("configuration loaded", "profiles", len(ps), "profiles_file", cfg.ProfilesFile, "prefix", cfg.Prefix)
	}
	h.rotator = rotate.Rotator{
		Profiles: ps, Secrets: d.Secrets, Fetcher: d.Fetcher, Store: d.Store,
		Concurrency: cfg.Concurrency, Now: d.Now, Logger: d.Logger,
		WriteRate: cfg.WriteRate, Interval: cfg.Interval,
		Lease:    rotate.RunLease(cfg.Prefix),      // <prefix>/.rotator.lock, shared by every run of this prefix
		Failures: rotate.FailureRecord(cfg.Prefix), // <prefix>/.rotator.failures, read by {"status": true}
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
		return rotate.EmptySummary(), nil
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
	env := emf.Dimension{Name: "Environment", Value: h.cfg.Environment}
	minLeft := -1.0
	var out []byte
	outcomes := sum.Outcomes()
	for _, o := range outcomes {
		left := 0.0
		if o.ExpiresAt != nil {
			left = max(0, o.ExpiresAt.Sub(now).Seconds())
		}
		if minLeft < 0 || left < minLeft {
			minLeft = left
		}
		out = append(out, emf.Line(h.cfg.Namespace, now, []emf.Dimension{env, {Name: "Profile", Value: o.Profile}},
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
	audit, runAudit := h.auditMetrics(outcomes, now, env)
	out = append(out, audit...)
	run = append(run, runAudit...)
	out = append(out, emf.Line(h.cfg.Namespace, now, []emf.Dimension{env}, run...)...)
	h.metricsMu.Lock()
	defer h.metricsMu.Unlock()
	_, _ = h.metrics.Write(out)
}
