package main

import (
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/emf"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
)

// auditMetrics are the reuse audit's EMF lines, one per token request
// (TokenRequests and EarlyTokenRequests by Environment, Profile and
// Reason), and the run line's totals: TokenRequests, EarlyTokenRequests
// (the early-token-requests alarm watches it) and SSMThrottles, the SSM
// calls throttled since the previous run's line.
func (h *handler) auditMetrics(outcomes []rotate.Outcome, now time.Time, env emf.Dimension) (lines []byte, run []emf.Metric) {
	var requests, early float64
	for _, o := range outcomes {
		if o.TokenRequest == "" {
			continue
		}
		e := 0.0
		if o.EarlyRequest {
			e = 1
		}
		requests, early = requests+1, early+e
		lines = append(lines, emf.Line(h.cfg.Namespace, now,
			[]emf.Dimension{env, {Name: "Profile", Value: o.Profile}, {Name: "Reason", Value: string(o.TokenRequest)}},
			emf.Metric{Name: "TokenRequests", Unit: emf.Count, Value: 1},
			emf.Metric{Name: "EarlyTokenRequests", Unit: emf.Count, Value: e})...)
	}
	var throttled int64
	if h.throttles != nil {
		cur := h.throttles()
		throttled = cur - h.lastThrottles.Swap(cur)
	}
	return lines, []emf.Metric{
		{Name: "TokenRequests", Unit: emf.Count, Value: requests},
		{Name: "EarlyTokenRequests", Unit: emf.Count, Value: early},
		{Name: "SSMThrottles", Unit: emf.Count, Value: float64(throttled)},
	}
}
