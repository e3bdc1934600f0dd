package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// emfMetric names one metric of an EMF directive.
type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// emfLine is one CloudWatch Embedded Metric Format log line: the cache's
// counters for one invocation.
type emfLine struct {
	AWS         emfMetadata `json:"_aws"`
	Environment string      `json:"Environment"`
	Profile     string      `json:"Profile"`
	CacheHits   uint64      `json:"CacheHits"`
	CacheMisses uint64      `json:"CacheMisses"`
	StaleServed uint64      `json:"StaleServed"`
	ReadErrors  uint64      `json:"ReadErrors"`
}

var emfMetrics = []emfMetric{
	{"CacheHits", "Count"}, {"CacheMisses", "Count"}, {"StaleServed", "Count"}, {"ReadErrors", "Count"},
}

// emitMetrics writes the counts since the previous invocation as one EMF
// line. A failure to write is reported on stderr and otherwise ignored: it
// must not fail the invocation.
func (h *Handler) emitMetrics() {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.cache.Stats()
	d := cur.Sub(h.last)
	h.last = cur
	line, err := json.Marshal(emfLine{
		AWS: emfMetadata{
			Timestamp: h.now().UnixMilli(),
			CloudWatchMetrics: []emfDirective{{
				Namespace:  h.cfg.Namespace,
				Dimensions: [][]string{{"Environment", "Profile"}},
				Metrics:    emfMetrics,
			}},
		},
		Environment: h.cfg.Environment,
		Profile:     h.cfg.Profile,
		CacheHits:   d.Hits,
		CacheMisses: d.Misses,
		StaleServed: d.StaleServed,
		ReadErrors:  d.ReadErrors,
	})
	if err == nil {
		_, err = h.metrics.Write(append(line, '\n'))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "consumer: write metrics: %v\n", err)
	}
}
