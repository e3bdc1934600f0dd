package tokencache

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gate holds each read of a fakeSSM until the test releases it, so that a
// test can act while a read is in flight: a read sends on started, then
// waits for release. Once open, reads pass without waiting.
type gate struct {
	started, release chan struct{}
	open             atomic.Bool
}

// holdReads makes every read of f wait at a gate. Call it before the first
// read.
func holdReads(f *fakeSSM) *gate {
	g := &gate{started: make(chan struct{}), release: make(chan struct{})}
	f.OnRead = func(ctx context.Context, _ string) error {
		if g.open.Load() {
			return nil
		}
		select {
		case g.started <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-g.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g
}

type tokenResult struct {
	token string
	err   error
}

// tokenAsync calls src.Token in a goroutine.
func tokenAsync(src *Source) <-chan tokenResult {
	ch := make(chan tokenResult, 1)
	go func() {
		tok, err := src.Token(context.Background())
		ch <- tokenResult{tok, err}
	}()
	return ch
}

// TestInvalidateDuringRead checks that a token the partner rejects while a
// read of its parameter is in flight is not served again, neither from
// that read's answer (which SSM may have given before the rejection) nor
// as the stale token of a read that failed; and that the rejection mark
// survives, so that the rejections of a token the rotator has not replaced
// yet do not each cause a read.
func TestInvalidateDuringRead(t *testing.T) {
	readFails := errors.New("ThrottlingException: rate exceeded")
	tests := []struct {
		name       string
		failRead   bool   // the in-flight read fails
		rotated    bool   // the rotator has written token-2 before any read that starts after the rejection
		wantToken  string // served to the caller that waited for the read ("" for an error)
		wantKind   error
		wantReads  int
		markKeeps  bool // token-1 is rejected once more right after: ignored, no read
		thenReread bool // after the hold, SSM answers token-1 again
	}{
		{name: "the read answers the rejected token, the rotator has replaced it since",
			rotated: true, wantToken: "token-2", wantReads: 3},
		{name: "the read answers the rejected token, the rotator has not replaced it",
			wantToken: "token-1", wantReads: 3, markKeeps: true},
		{name: "the read fails",
			failRead: true, wantKind: ErrReadFailed, wantReads: 2, thenReread: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFakeSSM(), newClock()
			f.put(t, testProfile, "token-1", t0, time.Hour)
			g := holdReads(f)
			c, _ := newTestCache(f, clk, Config{})
			src := c.Source(testProfile)
			first := tokenAsync(src)
			<-g.started
			g.release <- struct{}{}
			if r := <-first; r.err != nil || r.token != "token-1" {
				t.Fatalf("first Token = %q, %v; want token-1", r.token, r.err)
			}

			clk.Advance(DefaultMaxAge) // the record is due a read
			res := tokenAsync(src)
			<-g.started // the read is in flight
			if !src.Invalidate("token-1") {
				t.Fatal("Invalidate(token-1) during the read = false; want true")
			}
			if tt.failRead {
				f.setErr(readFails)
			}
			g.release <- struct{}{} // the read answers token-1, or fails

			var r tokenResult
			select {
			case <-g.started: // a read that started after the rejection
				if tt.rotated {
					f.put(t, testProfile, "token-2", t0, time.Hour)
				}
				g.release <- struct{}{}
				r = <-res
			case r = <-res:
			}
			g.open.Store(true) // from here on reads pass, and are counted
			errOK := r.err == nil && tt.wantKind == nil || tt.wantKind != nil && errors.Is(r.err, tt.wantKind)
			if r.token != tt.wantToken || !errOK {
				t.Fatalf("Token after Invalidate during its read = %q, %v; want %q, %v", r.token, r.err, tt.wantToken, tt.wantKind)
			}
			if got := f.Reads(); got != tt.wantReads {
				t.Errorf("GetParameter calls = %d; want %d", got, tt.wantReads)
			}
			if tt.markKeeps {
				assertRejectionKept(t, f, c, tt.wantReads)
			}
			if !tt.thenReread {
				return
			}
			// Within the hold, the failure is answered without a read;
			// after it, a read that returns token-1 anew serves it, and
			// keeps the mark of its rejection.
			if tok, err := src.Token(context.Background()); !errors.Is(err, ErrReadFailed) || f.Reads() != tt.wantReads {
				t.Fatalf("Token within MinReadInterval = %q, %v after %d reads; want ErrReadFailed, no read", tok, err, f.Reads())
			}
			f.setErr(nil)
			clk.Advance(2 * DefaultMinReadInterval)
			if got := mustToken(t, c, testProfile); got != "token-1" {
				t.Fatalf("Token after the hold = %q; want token-1, read anew", got)
			}
			assertRejectionKept(t, f, c, tt.wantReads+1)
		})
	}
}

// assertRejectionKept checks that token-1, already rejected once and read
// again since, is still served and that rejecting it again within
// MinReadInterval causes no read.
func assertRejectionKept(t *testing.T, f *fakeSSM, c *Cache, reads int) {
	t.Helper()
	if c.Source(testProfile).Invalidate("token-1") {
		t.Errorf("Invalidate(token-1) again, read back since its rejection = true; want false (rejection mark kept)")
	}
	if got := mustToken(t, c, testProfile); got != "token-1" || f.Reads() != reads {
		t.Errorf("Token = %q after %d reads; want token-1 after %d", got, f.Reads(), reads)
	}
}

// TestInvalidateAsReadEnds checks the narrowest window: the partner rejects
// the token after SSM has answered with it but before the read publishes
// that answer (the jitter hook runs there). The answer is not published;
// a read that starts after the rejection is.
func TestInvalidateAsReadEnds(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	c, _ := newTestCache(f, clk, Config{})
	src := c.Source(testProfile)
	mustToken(t, c, testProfile)

	var dropped atomic.Bool
	jitter = func() float64 {
		if !dropped.Swap(true) {
			f.put(t, testProfile, "token-2", t0, time.Hour) // the rotator replaces token-1,
			if !src.Invalidate("token-1") {                 // and the partner rejects it
				t.Error("Invalidate(token-1) as the read ends = false; want true")
			}
		}
		return 0.5
	}
	t.Cleanup(func() { jitter = rand.Float64 })
	clk.Advance(DefaultMaxAge)
	if got := mustToken(t, c, testProfile); got != "token-2" || f.Reads() != 3 {
		t.Errorf("Token after a rejection as its read ended = %q after %d reads; want token-2 from a third read", got, f.Reads())
	}
}

// blockingLog is a slog handler that holds the first record whose message
// is msg: it sends on at, then waits for proceed.
type blockingLog struct {
	slog.Handler
	msg         string
	at, proceed chan struct{}
	once        *sync.Once
}

func (b blockingLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == b.msg {
		b.once.Do(func() { b.at <- struct{}{}; <-b.proceed })
	}
	return b.Handler.Handle(ctx, r)
}

// TestInvalidateAfterPublishBeforeFlightEnds checks the window between a
// read publishing its entry and its flight returning (the read logs in
// between): a token rejected there (Invalidate returns true) is not served
// to a Token call made after the rejection, which would otherwise join the
// flight still answering with it. The caller gets a read that starts after
// the rejection.
func TestInvalidateAfterPublishBeforeFlightEnds(t *testing.T) {
	f, clk := newFakeSSM(), newClock()
	f.put(t, testProfile, "token-1", t0, time.Hour)
	h := blockingLog{Handler: slog.NewJSONHandler(io.Discard, nil), msg: "tokencache: token record read again after failed reads",
		at: make(chan struct{}), proceed: make(chan struct{}), once: &sync.Once{}}
	c := New(f, Config{Now: clk.Now, Logger: slog.New(h)})
	src := c.Source(testProfile)
	mustToken(t, c, testProfile)

	// A read fails: token-1 is served stale. After the minimum read
	// interval, a read answers token-1 again and logs that it did.
	f.setErr(errors.New("ThrottlingException: rate exceeded"))
	clk.Advance(DefaultMaxAge)
	mustToken(t, c, testProfile)
	f.setErr(nil)
	clk.Advance(2 * DefaultMinReadInterval)
	first := tokenAsync(src)
	<-h.at // the read has published token-1 and is logging

	if !src.Invalidate("token-1") {
		t.Fatal("Invalidate(token-1) after the read published it = false; want true")
	}
	f.put(t, testProfile, "token-2", t0, time.Hour) // the rotator replaces it
	misses := c.Stats().Misses
	after := tokenAsync(src)
	for c.Stats().Misses == misses {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let it reach the flight (if it is slower, the test passes without proving anything)
	close(h.proceed)
	<-first
	if r := <-after; r.err != nil || r.token != "token-2" {
		t.Fatalf("Token called after Invalidate(token-1) returned true = %q, %v; want token-2 from a read that started after the rejection", r.token, r.err)
	}
}
