package perf

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// benchLine matches one result of `go test -bench -benchmem`.
var benchLine = regexp.MustCompile(`^(Benchmark\w+?)(?:-(\d+))?\s+\d+\s+([\d.]+) ns/op(?:\s+(\d+) B/op\s+(\d+) allocs/op)?`)

type benchKey struct {
	name  string
	procs int
}

type benchStats struct {
	ns     []float64
	allocs int
}

func (s *benchStats) median() float64 {
	v := slices.Clone(s.ns)
	slices.Sort(v)
	return v[len(v)/2]
}

// parseBench reads `go test -bench` output: ns/op of every run (with
// -count) and allocs/op, by benchmark and GOMAXPROCS.
func parseBench(t *testing.T, path string) (map[benchKey]*benchStats, []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[benchKey]*benchStats{}
	var procs []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		k := benchKey{name: m[1], procs: 1}
		if m[2] != "" {
			k.procs, _ = strconv.Atoi(m[2])
		}
		ns, _ := strconv.ParseFloat(m[3], 64)
		s := out[k]
		if s == nil {
			s = &benchStats{}
			out[k] = s
			if !slices.Contains(procs, k.procs) {
				procs = append(procs, k.procs)
			}
		}
		s.ns = append(s.ns, ns)
		if m[5] != "" {
			a, _ := strconv.Atoi(m[5])
			s.allocs = max(s.allocs, a)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(procs)
	return out, procs
}

// TestHotPath summarises the consumer hit-path benchmarks of
// pkg/tokencache, which make bench runs first (with -cpu 1,<cores>) and
// names in PERF_HOTPATH: the cache against golang.org/x/oauth2's
// ReuseTokenSource in the same run, allocations, and how the parallel hits
// scale with cores next to a bare clock read.
func TestHotPath(t *testing.T) {
	needPerf(t)
	path := os.Getenv("PERF_HOTPATH")
	if path == "" {
		t.Skip("PERF_HOTPATH names the output of the tokencache benchmarks; make bench sets it")
	}
	res, procs := parseBench(t, path)
	lo, hi := procs[0], procs[len(procs)-1]
	get := func(name string, p int) *benchStats {
		s := res[benchKey{name, p}]
		if s == nil {
			t.Fatalf("%s has no result for %s with GOMAXPROCS %d", path, name, p)
		}
		return s
	}
	var rows [][]string
	for _, b := range []struct{ name, what string }{
		{"BenchmarkCacheHit", "Cache.Source(p).Token, cached profile"},
		{"BenchmarkSourceHit", "Source.Token (as Source.Transport calls it)"},
		{"BenchmarkReuseTokenSourceHit", "x/oauth2 ReuseTokenSource.Token"},
		{"BenchmarkTimeNow", "time.Now alone (the floor)"},
	} {
		s := get(b.name, lo)
		rows = append(rows, []string{b.name, b.what, fmt.Sprintf("%.1f", s.median()), itoa(s.allocs)})
	}
	cache, reuse := get("BenchmarkCacheHit", lo).median(), get("BenchmarkReuseTokenSourceHit", lo).median()

	var par [][]string
	for _, b := range []struct{ name, what string }{
		{"BenchmarkCacheHitParallel", "Cache.Source(p).Token"},
		{"BenchmarkReuseTokenSourceHitParallel", "x/oauth2 ReuseTokenSource.Token (mutex)"},
		{"BenchmarkTimeNowParallel", "time.Now alone (the floor)"},
	} {
		one, many := get(b.name, lo), get(b.name, hi)
		par = append(par, []string{b.name, b.what, fmt.Sprintf("%.1f", one.median()), fmt.Sprintf("%.1f", many.median()),
			fmt.Sprintf("%.2fx", one.median()/many.median()), itoa(many.allocs)})
	}
	progressf("hot path: Cache hit %.1f ns/op, ReuseTokenSource hit %.1f ns/op", cache, reuse)

	rep := newReport(t, "10-hot-path", "Consumer hot path (pkg/tokencache benchmarks, same run)")
	rep.printf("Median ns/op of %d interleaved runs, GOMAXPROCS %d. Cache hit / ReuseTokenSource hit = %.2f (%s); allocations per hit: %d.\n\n",
		len(get("BenchmarkCacheHit", lo).ns), lo, cache/reuse, fasterOrSlower(cache, reuse), get("BenchmarkCacheHit", lo).allocs)
	rep.table([]string{"benchmark", "what", "ns/op", "allocs/op"}, rows)
	rep.printf("Parallel hits (b.RunParallel; ns/op is wall time per hit over all goroutines, so perfect scaling divides it by the\n"+
		"number of cores): GOMAXPROCS %d against %d.\n\n", lo, hi)
	rep.table([]string{"benchmark", "what", fmt.Sprintf("ns/op, %d", lo), fmt.Sprintf("ns/op, %d", hi), "speed-up", "allocs/op"}, par)
	rep.done()
}

func fasterOrSlower(ours, theirs float64) string {
	if ours <= theirs {
		return fmt.Sprintf("the cache is %.0f%% faster", 100*(theirs-ours)/theirs)
	}
	return fmt.Sprintf("the cache is %.0f%% SLOWER", 100*(ours-theirs)/theirs)
}
