package functions_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// emitted is what EMF lines publish: for each namespace, metric name and
// dimension set (names sorted, joined by ","), the values seen of each
// dimension.
type emitted map[string]map[string][]string

func emittedKey(ns, metric string, dims []string) string {
	d := slices.Clone(dims)
	slices.Sort(d)
	return ns + "|" + metric + "|" + strings.Join(d, ",")
}

// addEMF reads one log line; lines that are not EMF are ignored.
func (e emitted) addEMF(line string) {
	var doc map[string]any
	if json.Unmarshal([]byte(line), &doc) != nil {
		return
	}
	var meta struct {
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name string }
		}
	}
	raw, _ := json.Marshal(doc["_aws"])
	if json.Unmarshal(raw, &meta) != nil {
		return
	}
	for _, d := range meta.CloudWatchMetrics {
		for _, dims := range d.Dimensions {
			for _, m := range d.Metrics {
				key := emittedKey(d.Namespace, m.Name, dims)
				if e[key] == nil {
					e[key] = map[string][]string{}
				}
				for _, dim := range dims {
					v := fmt.Sprint(doc[dim])
					if !slices.Contains(e[key][dim], v) {
						e[key][dim] = append(e[key][dim], v)
					}
				}
			}
		}
	}
}

// lambdaMetrics are AWS/Lambda's own metrics the dashboard may name, by
// FunctionName.
var lambdaMetrics = []string{"Duration", "Errors"}

var (
	searchExpr = regexp.MustCompile(`^SEARCH\('\{([^}]*)\}\s*(.*?)\s*',\s*'(\w+)'(?:,\s*(\d+))?\)$`)
	searchTerm = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// dashboardProblems checks every metric a dashboard body names against what
// the functions emitted (functions names the Lambda functions the
// AWS/Lambda metrics may be of), and returns the metric names it found.
func dashboardProblems(body string, got emitted, functions []string) (problems, names []string) {
	var dash struct {
		Widgets []struct {
			Type       string
			Properties struct {
				Title   string
				Metrics [][]any
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &dash); err != nil {
		return []string{fmt.Sprintf("dashboard body is not JSON: %v", err)}, nil
	}
	for _, w := range dash.Widgets {
		for _, m := range w.Properties.Metrics {
			name, problem := checkMetric(m, got, functions)
			if problem != "" {
				problems = append(problems, fmt.Sprintf("widget %q: %s", w.Properties.Title, problem))
			}
			if name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return problems, names
}

// checkMetric checks one entry of a widget's metrics array: a metric
// [namespace, name, dim, value, ..., {options}] or [{"expression": …}].
func checkMetric(m []any, got emitted, functions []string) (name, problem string) {
	if len(m) == 1 {
		opts, _ := m[0].(map[string]any)
		expr, _ := opts["expression"].(string)
		return checkSearch(expr, got)
	}
	var parts []string
	for _, p := range m {
		if s, ok := p.(string); ok {
			parts = append(parts, s)
		}
	}
	if len(parts) < 2 || len(parts)%2 != 0 {
		return "", fmt.Sprintf("metric %v: want namespace, name and dimension pairs", m)
	}
	ns, name := parts[0], parts[1]
	dims, values := []string{}, map[string]string{}
	for i := 2; i < len(parts); i += 2 {
		dims = append(dims, parts[i])
		values[parts[i]] = parts[i+1]
	}
	if ns == "AWS/Lambda" {
		if !slices.Contains(lambdaMetrics, name) || len(dims) != 1 || dims[0] != "FunctionName" || !slices.Contains(functions, values["FunctionName"]) {
			return name, fmt.Sprintf("AWS/Lambda %s %v: want %v of one of the stack's functions %v", name, values, lambdaMetrics, functions)
		}
		return name, ""
	}
	seen, ok := got[emittedKey(ns, name, dims)]
	if !ok {
		return name, fmt.Sprintf("%s %s with dimensions %v: no function emitted it", ns, name, dims)
	}
	for d, v := range values {
		if !slices.Contains(seen[d], v) {
			return name, fmt.Sprintf("%s %s: %s=%q, but the functions emitted %s %v", ns, name, d, v, d, seen[d])
		}
	}
	return name, ""
}

// checkSearch checks a SEARCH expression: its schema {namespace,dims...}
// and its MetricName and dimension terms must select series the
// functions emitted.
func checkSearch(expr string, got emitted) (name, problem string) {
	sm := searchExpr.FindStringSubmatch(expr)
	if sm == nil {
		return "", fmt.Sprintf("expression %q: want SEARCH('{namespace,dimensions} MetricName=\"…\" …', 'stat', period)", expr)
	}
	schema := strings.Split(sm[1], ",")
	for i, s := range schema {
		schema[i] = strings.Trim(strings.TrimSpace(s), `"`)
	}
	filters := map[string]string{}
	for _, term := range searchTerm.FindAllStringSubmatch(sm[2], -1) {
		filters[term[1]] = term[2]
	}
	name = filters["MetricName"]
	delete(filters, "MetricName")
	seen, ok := got[emittedKey(schema[0], name, schema[1:])]
	if name == "" || !ok {
		return name, fmt.Sprintf("SEARCH of %q in %v: no function emitted it with exactly those dimensions", name, schema)
	}
	for d, v := range filters {
		if !slices.Contains(schema[1:], d) || !slices.Contains(seen[d], v) {
			return name, fmt.Sprintf("SEARCH of %s: %s=%q, but the functions emitted %s %v", name, d, v, d, seen[d])
		}
	}
	return name, ""
}
