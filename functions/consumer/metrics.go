package main

import (
	"log/slog"

	"github.com/m2mtokens/oauth-token-rotator/internal/emf"
)

// emitMetrics writes the cache's counts since the previous invocation as one
// CloudWatch Embedded Metric Format line. A failure to write is logged and
// otherwise ignored: it must not fail the invocation.
func (h *handler) emitMetrics() {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.cache.Stats()
	d := cur.Sub(h.last)
	h.last = cur
	line := emf.Line(h.cfg.Namespace, h.now(),
		[]emf.Dimension{{Name: "Environment", Value: h.cfg.Environment}, {Name: "Profile", Value: h.cfg.Profile}},
		emf.Metric{Name: "CacheHits", Unit: emf.Count, Value: float64(d.Hits)},
		emf.Metric{Name: "CacheMisses", Unit: emf.Count, Value: float64(d.Misses)},
		emf.Metric{Name: "StaleServed", Unit: emf.Count, Value: float64(d.StaleServed)},
		emf.Metric{Name: "ReadErrors", Unit: emf.Count, Value: float64(d.ReadErrors)},
	)
	if _, err := h.metrics.Write(line); err != nil {
		slog.Error("consumer: write metrics", "error", err.Error())
	}
}
