package lambdatest

import (
	"bytes"
	"sync"
)

// maxLineLength caps one captured line; longer output is split.
const maxLineLength = 1 << 20

// logBuffer holds the lines a function process wrote. It is safe for
// concurrent use.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
}

// snapshot returns a copy of the lines.
func (b *logBuffer) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...)
}

// tail returns the last n lines.
func (b *logBuffer) tail(n int) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := max(len(b.lines)-n, 0)
	return append([]string(nil), b.lines[from:]...)
}

// lineWriter splits one output stream into lines for a logBuffer. os/exec
// calls Write from one goroutine per stream; flush runs after that goroutine
// has finished.
type lineWriter struct {
	buf     *logBuffer
	partial []byte
}

// Write adds every whole line of p to the buffer (splitting one longer
// than maxLineLength) and keeps the rest for the next Write, or flush.
func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			i = len(p)
		}
		if room := maxLineLength - len(w.partial); i > room {
			// Split an over-long line rather than hold it all.
			w.partial = append(w.partial, p[:room]...)
			w.emit()
			p = p[room:]
			continue
		}
		w.partial = append(w.partial, p[:i]...)
		if i == len(p) {
			break
		}
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

// flush emits an unterminated last line, if any.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.emit()
	}
}

// emit adds the buffered line, without a trailing CR, and empties the buffer.
func (w *lineWriter) emit() {
	w.buf.add(string(bytes.TrimSuffix(w.partial, []byte("\r"))))
	w.partial = w.partial[:0]
}
