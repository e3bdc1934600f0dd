package perf

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMachine records where the figures come from: cores, CPU model, Go
// version, kernel, and the load when the measurements started (other work
// on the machine skews every figure, the parallel ones most).
func TestMachine(t *testing.T) {
	needPerf(t)
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	// make bench records the load before its first benchmark.
	load, err := os.ReadFile(filepath.Join(os.Getenv("PERF_REPORT"), "loadavg"))
	if err != nil {
		load, _ = os.ReadFile("/proc/loadavg")
	}
	var memKB int
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			memKB, _ = strconv.Atoi(f[1])
		}
	}
	loadavg := "unknown"
	if f := strings.Fields(string(load)); len(f) >= 3 {
		loadavg = strings.Join(f[:3], ", ")
	}
	rep := newReport(t, "00-machine", "Machine")
	rep.printf("- cores (nproc): %d\n- CPU: %s\n- memory: %.1f GiB\n- Go: %s %s/%s\n- kernel: %s\n- load average when the measurements started (1, 5, 15 min): %s\n- date: %s\n\n",
		runtime.NumCPU(), model, float64(memKB)/(1<<20), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		strings.TrimSpace(string(kernel)), loadavg, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	rep.printf("Reproduce: `make bench` (about 6 minutes on 2 cores; moto_server on the PATH). One measurement alone:\n" +
		"`cd internal/perf && PERF=1 go test -count=1 -v -run TestRotatorScale` (TestAPICalls, TestRotatorBinary, TestThunderingHerd,\n" +
		"TestColdStart, TestFleet likewise; TestHotPath needs PERF_HOTPATH, the output of the tokencache benchmarks).\n\n")
	rep.done()
}
