package mototest

import (
	"strings"
	"sync"
)

// lockedWriter lets moto's stdout and stderr share one buffer.
type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

// Write appends p under the lock.
func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() < 1<<20 {
		w.b.Write(p)
	}
	return len(p), nil
}
