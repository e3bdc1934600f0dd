package emf

import (
	"encoding/json"
	"time"
)

// Defaults of both functions' METRICS_NAMESPACE and ENVIRONMENT: the
// namespace of their metrics and the value of their Environment dimension.
const (
	DefaultNamespace   = "OAuthTokenRotator"
	DefaultEnvironment = "local"
)

// Units used by this project.
const (
	Count   = "Count"
	Seconds = "Seconds"
)

// Dimension is one dimension's name and value.
type Dimension struct{ Name, Value string }

// Metric is one metric's name, unit and value.
type Metric struct {
	Name  string
	Unit  string
	Value float64
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Line encodes one EMF document: the metrics in namespace at t, under one
// dimension set made of dims (in order). It ends with a newline.
func Line(namespace string, t time.Time, dims []Dimension, metrics ...Metric) []byte {
	doc := make(map[string]any, 1+len(dims)+len(metrics))
	names := make([]string, len(dims))
	for i, d := range dims {
		names[i] = d.Name
		doc[d.Name] = d.Value
	}
	defs := make([]metricDef, len(metrics))
	for i, m := range metrics {
		defs[i] = metricDef{Name: m.Name, Unit: m.Unit}
		doc[m.Name] = m.Value
	}
	doc["_aws"] = metadata{
		Timestamp:         t.UnixMilli(),
		CloudWatchMetrics: []directive{{Namespace: namespace, Dimensions: [][]string{names}, Metrics: defs}},
	}
	b, _ := json.Marshal(doc) // strings, float64s and fixed structs always encode
	return append(b, '\n')
}
