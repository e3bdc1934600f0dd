package perf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needPerf skips a measurement unless PERF=1 (make bench sets it).
func needPerf(t *testing.T) {
	t.Helper()
	if os.Getenv("PERF") != "1" {
		t.Skip("a measurement for make bench: run with PERF=1")
	}
}

// progressf prints a progress line as a measurement goes (shown by `go test`
// run in this directory, as make bench runs it, or with -v).
func progressf(format string, args ...any) {
	fmt.Printf("perf: "+format+"\n", args...)
}

// report is one section of the summary make bench prints.
type report struct {
	t    *testing.T
	file string
	b    strings.Builder
}

// newReport starts a section; file orders the sections in the summary.
func newReport(t *testing.T, file, title string) *report {
	r := &report{t: t, file: file}
	fmt.Fprintf(&r.b, "### %s\n\n", title)
	return r
}

func (r *report) printf(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

// table writes a Markdown table whose columns line up in a terminal.
// The first column is left-aligned; the others are right-aligned when their
// first cell starts with a digit.
func (r *report) table(header []string, rows [][]string) {
	width := make([]int, len(header))
	left := make([]bool, len(header))
	for i, h := range header {
		width[i] = len(h)
		left[i] = i == 0 || len(rows) == 0 || rows[0][i] == "" || rows[0][i][0] < '0' || rows[0][i][0] > '9'
	}
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		r.b.WriteString("|")
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if left[i] {
				fmt.Fprintf(&r.b, " %s%s |", c, pad)
			} else {
				fmt.Fprintf(&r.b, " %s%s |", pad, c)
			}
		}
		r.b.WriteString("\n")
	}
	line(header)
	r.b.WriteString("|")
	for i, w := range width {
		if left[i] {
			r.b.WriteString(strings.Repeat("-", w+2) + "|")
		} else {
			r.b.WriteString(strings.Repeat("-", w+1) + ":|")
		}
	}
	r.b.WriteString("\n")
	for _, row := range rows {
		line(row)
	}
	r.b.WriteString("\n")
}

// done logs the section and, with PERF_REPORT set, writes it there.
func (r *report) done() {
	r.t.Helper()
	text := r.b.String()
	r.t.Log("\n" + text)
	dir := os.Getenv("PERF_REPORT")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, r.file+".md"), []byte(text), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Formatting helpers for table cells.

func itoa(n int) string { return fmt.Sprint(n) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib[T int64 | uint64](n T) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// human writes a whole number of hours, minutes or seconds as "48 h",
// "5 min", "10 s"; anything else as time.Duration does.
func human(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	case d >= time.Second && d%time.Second == 0:
		return fmt.Sprintf("%d s", d/time.Second)
	case d >= time.Millisecond && d%time.Millisecond == 0:
		return fmt.Sprintf("%d ms", d/time.Millisecond)
	}
	return d.String()
}
