package lambdatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Defaults of the options.
const (
	// defaultFunctionName is the function name when WithFunctionName is not
	// given.
	defaultFunctionName = "lambdatest-function"
	// defaultTimeout is the invocation timeout when WithTimeout is not given.
	// It is longer than Lambda's 3 s default so that slow CI machines do not
	// fail tests; set the function's real timeout to test it.
	defaultTimeout = 30 * time.Second
	// defaultMemoryMB is the memory size when WithMemory is not given.
	defaultMemoryMB = 128
	// defaultRegion is AWS_REGION when env does not set it.
	defaultRegion = "us-east-1"
	// accountID is the account in the invoked function ARN (moto's default).
	accountID = "123456789012"
)

// timeoutErrorType is the ErrorType of the result of an invocation that ran
// past its deadline, as Lambda reports it.
const timeoutErrorType = "Sandbox.Timedout"

// shutdownGrace is how long a process may take to exit after SIGTERM (or
// after reporting an init error) before it is killed. Lambda gives a runtime
// with an internal extension 500 ms.
const shutdownGrace = 500 * time.Millisecond

// outputTailLines is how many lines of output a ProcessError carries.
const outputTailLines = 20

// failureLogLines is how many lines of output Start logs when a test fails.
const failureLogLines = 200

// errClosed is returned by Invoke once Close has been called.
var errClosed = errors.New("lambdatest: runtime closed")

// Option configures Launch and Start.
type Option func(*config)

type config struct {
	functionName string
	timeout      time.Duration
	memoryMB     int
	taskRoot     string
}

// WithFunctionName sets AWS_LAMBDA_FUNCTION_NAME, the log group name and the
// invoked function ARN. The default is "lambdatest-function".
func WithFunctionName(name string) Option {
	return func(c *config) { c.functionName = name }
}

// WithTimeout sets the function's timeout: each invocation's deadline
// (Lambda-Runtime-Deadline-Ms) is this long after the event is delivered, and
// an invocation that has not answered by then fails with "Sandbox.Timedout" and
// the process is stopped, as Lambda does. The default is 30 s.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithMemory sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE in MB. It does not limit
// the process's memory. The default is 128.
func WithMemory(mb int) Option {
	return func(c *config) { c.memoryMB = mb }
}

// WithTaskRoot sets LAMBDA_TASK_ROOT and the process's working directory, for
// a function that reads files bundled beside it. The default is the binary's
// directory.
func WithTaskRoot(dir string) Option {
	return func(c *config) { c.taskRoot = dir }
}

// Result is the outcome of one invocation the function answered.
type Result struct {
	// RequestID is the invocation's Lambda-Runtime-Aws-Request-Id.
	RequestID string
	// Payload is the answer the function posted; nil when Err is set.
	Payload []byte
	// Err is the error the function reported, or the timeout; nil on success.
	Err *FunctionError
	// Duration runs from the delivery of the event (the answer to GET /next)
	// to the function's answer, as Lambda's Duration metric does.
	Duration time.Duration
}

// FunctionError is an error a function reported for an invocation (POST
// /runtime/invocation/{id}/error) or at init (POST /runtime/init/error), or
// the timeout of an invocation.
type FunctionError struct {
	// ErrorType is the document's errorType, for aws-lambda-go the name of
	// the error's type (for example "errorString"); the type header when the
	// document has none.
	ErrorType string
	// ErrorMessage is the document's errorMessage.
	ErrorMessage string
	// TypeHeader is the Lambda-Runtime-Function-Error-Type header (or trailer)
	// as posted; aws-lambda-go sends it only for a failed streamed answer.
	TypeHeader string
	// Raw is the error document as posted.
	Raw []byte
}

// Error returns "lambdatest: function error <type>: <message>".
func (e *FunctionError) Error() string {
	return "lambdatest: function error " + e.ErrorType + ": " + e.ErrorMessage
}

// ProcessError is returned by Invoke and WaitInit when the function
// process has ended, by itself or because it reported an init error, timed
// out or was closed.
type ProcessError struct {
	// DuringInit is true when the process never asked for an invocation.
	DuringInit bool
	// InitError is what the process posted to /runtime/init/error, or nil.
	InitError *FunctionError
	// ExitCode is the process's exit status, -1 when a signal ended it.
	ExitCode int
	// Status describes the end, for example "exit status 3" or
	// "signal: killed".
	Status string
	// StoppedBecause says why lambdatest stopped the process; empty when it
	// exited by itself.
	StoppedBecause string
	// Output is the last lines the process wrote.
	Output []string
}

// Error describes the end of the process, with the init error and the last
// lines of output.
func (e *ProcessError) Error() string {
	var b strings.Builder
	b.WriteString("lambdatest: function process ")
	if e.StoppedBecause != "" {
		fmt.Fprintf(&b, "stopped (%s) because %s", e.Status, e.StoppedBecause)
	} else {
		fmt.Fprintf(&b, "exited (%s)", e.Status)
	}
	if e.DuringInit {
		b.WriteString(" during init")
	}
	if e.InitError != nil {
		fmt.Fprintf(&b, "; init error %s: %s", e.InitError.ErrorType, e.InitError.ErrorMessage)
	}
	if len(e.Output) == 0 {
		b.WriteString("; no output")
		return b.String()
	}
	b.WriteString("; last output:")
	for _, l := range e.Output {
		b.WriteString("\n\t")
		b.WriteString(l)
	}
	return b.String()
}

// Runtime is a function process served by a fake Lambda Runtime API. It is
// safe for concurrent use; invocations are delivered one at a time.
type Runtime struct {
	cfg     config
	arn     string
	api     *apiServer
	cmd     *exec.Cmd
	logs    *logBuffer
	stdout  *lineWriter
	stderr  *lineWriter
	started time.Time

	sem     chan struct{} // holds one token per invocation in progress
	closing chan struct{} // closed when Close starts
	exited  chan struct{} // closed when the process has exited and its output is captured
	bg      sync.WaitGroup

	mu         sync.Mutex
	stopReason string

	closeOnce sync.Once
	stopWatch func() bool
}

// Launch starts the fake Runtime API on a free loopback port and then the
// binary as a Lambda runtime: with AWS_LAMBDA_RUNTIME_API pointing at the
// API, the standard Lambda variables (function name, version $LATEST, memory
// size, log group and stream, LAMBDA_TASK_ROOT, _HANDLER=bootstrap, TZ,
// AWS_REGION and AWS_DEFAULT_REGION), PATH and HOME from this process, and
// env ("KEY=value" entries, which override all but AWS_LAMBDA_RUNTIME_API).
// Nothing else of this process's environment is passed on.
//
// Launch does not wait for the function to initialise; Invoke and WaitInit
// do. The process runs until Close is called or ctx is done, whichever comes
// first. Output is captured from the start (see Logs).
func Launch(ctx context.Context, binary string, env []string, opts ...Option) (*Runtime, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lambdatest: launch %s: %w", binary, err)
	}
	cfg := config{functionName: defaultFunctionName, timeout: defaultTimeout, memoryMB: defaultMemoryMB}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.functionName == "" || cfg.timeout <= 0 || cfg.memoryMB <= 0 {
		return nil, fmt.Errorf("lambdatest: launch %s: function name %q, timeout %s, memory %d MB: want a name and positive values",
			binary, cfg.functionName, cfg.timeout, cfg.memoryMB)
	}
	bin, err := filepath.Abs(binary)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: launch %s: %w", binary, err)
	}
	if cfg.taskRoot == "" {
		cfg.taskRoot = filepath.Dir(bin)
	}
	if cfg.taskRoot, err = filepath.Abs(cfg.taskRoot); err != nil {
		return nil, fmt.Errorf("lambdatest: launch %s: task root: %w", binary, err)
	}

	api, err := newAPIServer(cfg.functionName)
	if err != nil {
		return nil, err
	}
	region := lookupEnv(env, "AWS_REGION", defaultRegion)
	r := &Runtime{
		cfg:     cfg,
		arn:     fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, accountID, cfg.functionName),
		api:     api,
		logs:    &logBuffer{},
		sem:     make(chan struct{}, 1),
		closing: make(chan struct{}),
		exited:  make(chan struct{}),
	}
	r.stdout = &lineWriter{buf: r.logs}
	r.stderr = &lineWriter{buf: r.logs}

	cmd := exec.Command(bin)
	cmd.Dir = cfg.taskRoot
	cmd.Env = lambdaEnv(cfg, region, api.addr, env)
	cmd.Stdout = r.stdout
	cmd.Stderr = r.stderr
	// Its own process group, so that stopping it stops anything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Do not wait forever for output pipes held open by a grandchild.
	cmd.WaitDelay = time.Second
	r.cmd = cmd

	r.started = time.Now()
	if err := cmd.Start(); err != nil {
		api.close()
		return nil, fmt.Errorf("lambdatest: start %s: %w", bin, err)
	}
	r.bg.Add(2)
	go r.wait()
	go r.watchInit()
	r.stopWatch = context.AfterFunc(ctx, r.Close)
	return r, nil
}

// Start launches the binary as Launch does, for one test, and closes it when
// the test ends. If the test failed, it logs the function's last output
// lines. It fails the test if the binary cannot be started.
func Start(tb testing.TB, binary string, env []string, opts ...Option) *Runtime {
	tb.Helper()
	r, err := Launch(context.Background(), binary, env, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		r.Close()
		if tb.Failed() {
			r.logOutput(tb, binary)
		}
	})
	return r
}

func (r *Runtime) logOutput(tb testing.TB, binary string) {
	lines := r.Logs()
	var b strings.Builder
	fmt.Fprintf(&b, "lambdatest: output of %s (%d lines", binary, len(lines))
	if len(lines) > failureLogLines {
		fmt.Fprintf(&b, ", the last %d shown", failureLogLines)
		lines = lines[len(lines)-failureLogLines:]
	}
	b.WriteString("):")
	for _, l := range lines {
		b.WriteString("\n\t")
		b.WriteString(l)
	}
	tb.Log(b.String())
}

// lambdaEnv returns the process environment: PATH and HOME, the Lambda
// variables, env, and AWS_LAMBDA_RUNTIME_API. Later entries win.
func lambdaEnv(cfg config, region, apiAddr string, env []string) []string {
	var out []string
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	now := time.Now().UTC()
	out = append(out,
		"AWS_LAMBDA_FUNCTION_NAME="+cfg.functionName,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(cfg.memoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+cfg.functionName,
		"AWS_LAMBDA_LOG_STREAM_NAME="+now.Format("2006/01/02")+"/[$LATEST]"+randomHex(16),
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"LAMBDA_TASK_ROOT="+cfg.taskRoot,
		"_HANDLER=bootstrap",
		"TZ=:UTC",
		"AWS_REGION="+region,
		"AWS_DEFAULT_REGION="+region,
	)
	out = append(out, env...)
	return append(out, "AWS_LAMBDA_RUNTIME_API="+apiAddr)
}

// lookupEnv returns the last value of key in env, or def.
func lookupEnv(env []string, key, def string) string {
	v := def
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// wait reaps the process and records that it has ended.
func (r *Runtime) wait() {
	defer r.bg.Done()
	_ = r.cmd.Wait()
	r.stdout.flush()
	r.stderr.flush()
	close(r.exited)
}

// watchInit stops the process if it reports an init error, as Lambda does,
// after giving it shutdownGrace to exit by itself.
func (r *Runtime) watchInit() {
	defer r.bg.Done()
	select {
	case <-r.api.initFailed:
		r.stop("it reported an init error", 0)
	case <-r.exited:
	}
}

// stop ends the process and waits until it has exited: it sends first to the
// process group (none when 0), allows shutdownGrace, then sends SIGKILL.
func (r *Runtime) stop(reason string, first syscall.Signal) {
	select {
	case <-r.exited:
		return
	default:
	}
	pgid := r.cmd.Process.Pid
	if first != 0 {
		r.setStopReason(reason)
		_ = syscall.Kill(-pgid, first)
	}
	t := time.NewTimer(shutdownGrace)
	defer t.Stop()
	select {
	case <-r.exited:
		return
	case <-t.C:
	}
	r.setStopReason(reason)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-r.exited
}

func (r *Runtime) setStopReason(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopReason == "" {
		r.stopReason = reason
	}
}

// Close stops the process (SIGTERM to its process group, SIGKILL after a
// short grace), then the Runtime API, and waits for both. Output captured
// until then stays readable with Logs. Close is safe to call more than once
// and from several goroutines.
func (r *Runtime) Close() {
	r.closeOnce.Do(func() {
		r.stopWatch()
		close(r.closing)
		r.stop("Close was called", syscall.SIGTERM)
		r.api.close()
		r.bg.Wait()
	})
}

// Invoke delivers payload as one event, once the function asks for one, and
// waits for its answer. A function error is a Result with Err set and a nil error; so is a
// timeout, after which the process has been stopped. The error is errClosed
// when Close has been called before the event was delivered, a
// *ProcessError when the process has ended (before or during the
// invocation, by reporting an init error, or by Close during the
// invocation), or the context's error. Calls from several goroutines are
// delivered one at a time.
func (r *Runtime) Invoke(ctx context.Context, payload []byte) (Result, error) {
	if r.isClosing() {
		return Result{}, errClosed
	}
	select {
	case r.sem <- struct{}{}:
	case <-r.closing:
		return Result{}, errClosed
	case <-ctx.Done():
		return Result{}, fmt.Errorf("lambdatest: invoke: %w", ctx.Err())
	}
	defer func() { <-r.sem }()

	inv := &invocation{
		id:          newUUID(),
		payload:     bytes.Clone(payload),
		timeout:     r.cfg.timeout,
		functionARN: r.arn,
		traceID:     newTraceID(time.Now()),
		delivered:   make(chan struct{}),
		done:        make(chan outcome, 1),
	}
	select {
	case r.api.queue <- inv:
	case <-r.closing:
		return Result{}, errClosed
	case <-r.exited:
		return Result{}, r.undeliveredError()
	case <-r.api.initFailed:
		return Result{}, r.undeliveredError()
	case <-ctx.Done():
		return Result{}, fmt.Errorf("lambdatest: invoke: %w", ctx.Err())
	}
	<-inv.delivered // closed by the GET /next handler right after taking inv

	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case out := <-inv.done:
		return inv.result(out), nil
	case <-timer.C:
		select {
		case out := <-inv.done:
			return inv.result(out), nil
		default:
		}
		r.stop(fmt.Sprintf("invocation %s timed out after %s", inv.id, inv.timeout), syscall.SIGKILL)
		return Result{
			RequestID: inv.id,
			Err: &FunctionError{
				ErrorType: timeoutErrorType,
				ErrorMessage: fmt.Sprintf("%s %s Task timed out after %.2f seconds",
					inv.deadline.UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, inv.timeout.Seconds()),
			},
			Duration: time.Since(inv.deliveredAt),
		}, nil
	case <-r.exited:
		select {
		case out := <-inv.done:
			return inv.result(out), nil
		default:
		}
		return Result{RequestID: inv.id}, r.processError()
	case <-ctx.Done():
		return Result{RequestID: inv.id}, fmt.Errorf("lambdatest: invoke %s: %w", inv.id, ctx.Err())
	}
}

func (inv *invocation) result(out outcome) Result {
	return Result{RequestID: inv.id, Payload: out.payload, Err: out.err, Duration: out.at.Sub(inv.deliveredAt)}
}

func (r *Runtime) isClosing() bool {
	select {
	case <-r.closing:
		return true
	default:
		return false
	}
}

// undeliveredError explains why an event could not be delivered: errClosed
// after Close, else the end of the process.
func (r *Runtime) undeliveredError() error {
	if r.isClosing() {
		return errClosed
	}
	return r.processError()
}

// processError waits until the process has exited (it is ending already) and
// describes how.
func (r *Runtime) processError() error {
	<-r.exited
	r.mu.Lock()
	reason := r.stopReason
	r.mu.Unlock()
	e := &ProcessError{
		DuringInit:     r.api.firstNextAt().IsZero(),
		InitError:      r.api.initFailure(),
		ExitCode:       -1,
		Status:         "unknown status",
		StoppedBecause: reason,
		Output:         r.logs.tail(outputTailLines),
	}
	if st := r.cmd.ProcessState; st != nil {
		e.ExitCode, e.Status = st.ExitCode(), st.String()
	}
	return e
}

// WaitInit waits until the function has initialised, that is until it first
// asks for an invocation, and returns InitDuration. The error is a
// *ProcessError if the process ends or reports an init error first, or the
// context's error.
func (r *Runtime) WaitInit(ctx context.Context) (time.Duration, error) {
	select {
	case <-r.api.ready:
		return r.InitDuration(), nil
	default:
	}
	select {
	case <-r.api.ready:
		return r.InitDuration(), nil
	case <-r.exited:
		return 0, r.processError()
	case <-r.api.initFailed:
		return 0, r.processError()
	case <-ctx.Done():
		return 0, fmt.Errorf("lambdatest: wait for init: %w", ctx.Err())
	}
}

// InitDuration returns the cold start: the time from starting the process to
// its first GET /runtime/invocation/next. It is 0 until then.
func (r *Runtime) InitDuration() time.Duration {
	t := r.api.firstNextAt()
	if t.IsZero() {
		return 0
	}
	return t.Sub(r.started)
}

// PID returns the function process's id.
func (r *Runtime) PID() int {
	return r.cmd.Process.Pid
}

// Logs returns the lines the function wrote to stdout and stderr so far, in
// the order they arrived. Output travels through pipes, so a line written
// just before the function answered may arrive a moment after Invoke returns:
// read Logs after Close, when all output is in.
func (r *Runtime) Logs() []string {
	return r.logs.snapshot()
}
