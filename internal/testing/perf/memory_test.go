package perf

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// heapSampler records the peak of the live heap while a measurement runs,
// sampling runtime/metrics every millisecond.
type heapSampler struct {
	stop  chan struct{}
	done  sync.WaitGroup
	peak  uint64
	alloc uint64 // bytes allocated between start and end
}

const (
	heapObjects = "/memory/classes/heap/objects:bytes"
	heapAllocs  = "/gc/heap/allocs:bytes"
)

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// startHeapSampler collects garbage (so the peak is this measurement's) and
// starts sampling.
func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{}), alloc: readMetric(heapAllocs)}
	h.peak = readMetric(heapObjects)
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				h.peak = max(h.peak, readMetric(heapObjects))
			}
		}
	}()
	return h
}

// end stops sampling and returns the peak heap and the bytes allocated.
func (h *heapSampler) end() (peak, alloc uint64) {
	close(h.stop)
	h.done.Wait()
	h.peak = max(h.peak, readMetric(heapObjects))
	return h.peak, readMetric(heapAllocs) - h.alloc
}

// procStatus returns a kB field of /proc/<pid>/status (VmHWM, VmRSS) in
// bytes, or 0 when it cannot be read.
func procStatus(pid int, field string) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
