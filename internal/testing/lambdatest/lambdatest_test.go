package lambdatest_test

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
)

// testTimeout bounds each test's waiting.
const testTimeout = time.Minute

// echoResponse mirrors the fixture's answer.
type echoResponse struct {
	Message         string   `json:"message"`
	Invocation      int64    `json:"invocation"`
	PID             int      `json:"pid"`
	RequestID       string   `json:"request_id"`
	FunctionARN     string   `json:"function_arn"`
	DeadlineMS      int64    `json:"deadline_ms"`
	TraceID         string   `json:"trace_id"`
	FunctionName    string   `json:"function_name"`
	FunctionVersion string   `json:"function_version"`
	MemoryMB        int      `json:"memory_mb"`
	LogGroup        string   `json:"log_group"`
	LogStream       string   `json:"log_stream"`
	Dir             string   `json:"dir"`
	Env             []string `json:"env"`
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// invokeEcho invokes the fixture and decodes a successful answer.
func invokeEcho(ctx context.Context, t *testing.T, r *lambdatest.Runtime, payload string) (lambdatest.Result, echoResponse) {
	t.Helper()
	res, err := r.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	if res.Err != nil {
		t.Fatalf("Invoke(%s) = function error %v; want success", payload, res.Err)
	}
	var resp echoResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		t.Fatalf("Invoke(%s) answer %q: %v", payload, res.Payload, err)
	}
	return res, resp
}

// processError invokes the fixture and returns the *ProcessError it must fail with.
func processError(ctx context.Context, t *testing.T, r *lambdatest.Runtime, payload string) *lambdatest.ProcessError {
	t.Helper()
	res, err := r.Invoke(ctx, []byte(payload))
	var pe *lambdatest.ProcessError
	if !errors.As(err, &pe) {
		t.Fatalf("Invoke(%s) = %+v, %v; want a *ProcessError", payload, res, err)
	}
	if !strings.HasPrefix(err.Error(), "lambdatest: ") {
		t.Errorf("error %q lacks the lambdatest: prefix", err)
	}
	return pe
}

// TestBuildUsesTheMakefile: Build runs the Makefile's target for this
// host, once per process, and the binary carries the target's flags.
func TestBuildUsesTheMakefile(t *testing.T) {
	t.Parallel()
	first := lambdatest.Build(t, "./functions/consumer")
	if second := lambdatest.Build(t, "./functions/consumer"); second != first {
		t.Errorf("Build twice = %q, %q; want one shared binary", first, second)
	}
	checkLambdaBinary(t, first, runtime.GOOS, runtime.GOARCH)
	// The rotator's target also bundles its profiles beside the binary.
	rotator := lambdatest.Build(t, "./functions/rotator")
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(rotator), "profiles", "*.yaml")); len(m) == 0 {
		t.Errorf("Build(./functions/rotator) = %q without profiles/*.yaml beside it; want the Makefile target's layout", rotator)
	}
}

// TestMakeBootstrapForLambda builds for Lambda's linux/arm64, as sam build
// does.
func TestMakeBootstrapForLambda(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := lambdatest.MakeBootstrap(testContext(t), "ConsumerFunction", dir, "linux", "arm64"); err != nil {
		t.Fatal(err)
	}
	checkLambdaBinary(t, filepath.Join(dir, "bootstrap"), "linux", "arm64")
}

// checkLambdaBinary checks the build flags recorded in bin.
func checkLambdaBinary(t *testing.T, bin, goos, goarch string) {
	t.Helper()
	if filepath.Base(bin) != "bootstrap" {
		t.Errorf("binary %q; want a file named bootstrap", bin)
	}
	info, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&0o111 == 0 {
		t.Errorf("%q has mode %v; want executable", bin, info.Mode())
	}
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	for _, want := range []string{
		"build\t-tags=lambda.norpc",
		"build\t-trimpath=true",
		"build\tCGO_ENABLED=0",
		"build\tGOOS=" + goos,
		"build\tGOARCH=" + goarch,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go version -m %s lacks %q:\n%s", bin, want, out)
		}
	}
	// -trimpath keeps -ldflags out of the build info; check its effect, -s.
	f, err := elf.Open(bin)
	if err != nil {
		if goos == "linux" {
			t.Fatal(err)
		}
		return
	}
	defer f.Close()
	if f.Section(".symtab") != nil {
		t.Errorf("%s has a symbol table; want it stripped by -ldflags=-s", bin)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"a package no target builds", lambdatest.BuildBinary(testContext(t), "./internal/testing/lambdatest/testdata/missing", filepath.Join(t.TempDir(), "bootstrap")),
			"lambdatest: build ./internal/testing/lambdatest/testdata/missing: no Makefile target builds it"},
		{"an output not named bootstrap", lambdatest.BuildBinary(testContext(t), "./functions/consumer", filepath.Join(t.TempDir(), "consumer")),
			"the Makefile writes a file named bootstrap"},
		{"a target the Makefile lacks", lambdatest.MakeBootstrap(testContext(t), "NoSuchFunction", t.TempDir(), runtime.GOOS, runtime.GOARCH),
			"lambdatest: make build-NoSuchFunction: "},
		{"a fixture build that cannot write", lambdatest.GoBuildEcho(testContext(t), "/dev/null/x/bootstrap"), "lambdatest: build ./internal/testing/lambdatest/testdata/echo: "},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: error = %v; want one containing %q", tt.name, tt.err, tt.want)
		}
	}
}

func TestWarmInvocationsShareOneProcess(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), nil)

	ids := map[string]bool{}
	for i := int64(1); i <= 5; i++ {
		msg := "hello " + string(rune('a'+i))
		res, resp := invokeEcho(ctx, t, r, `{"message":"`+msg+`"}`)
		if resp.Message != msg || resp.Invocation != i || resp.PID != r.PID() {
			t.Errorf("invocation %d = message %q, counter %d, pid %d; want %q, %d, %d",
				i, resp.Message, resp.Invocation, resp.PID, msg, i, r.PID())
		}
		if ids[res.RequestID] {
			t.Errorf("invocation %d reused request id %s", i, res.RequestID)
		}
		ids[res.RequestID] = true
		if res.Duration <= 0 {
			t.Errorf("invocation %d: Duration = %v; want > 0", i, res.Duration)
		}
	}
	if d := r.InitDuration(); d <= 0 {
		t.Errorf("InitDuration() = %v; want > 0 after an invocation", d)
	} else {
		t.Logf("echo fixture init duration (exec to first GET /next): %v", d)
	}
}

func TestConcurrentInvokesAreDeliveredOneAtATime(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), nil)

	const n = 8
	counters := make(chan int64, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, resp := invokeEcho(ctx, t, r, `{"message":"concurrent"}`)
			counters <- resp.Invocation
		})
	}
	wg.Wait()
	close(counters)
	var got []int64
	for c := range counters {
		got = append(got, c)
	}
	slices.Sort(got)
	want := []int64{1, 2, 3, 4, 5, 6, 7, 8}
	if !slices.Equal(got, want) {
		t.Errorf("counters = %v; want %v", got, want)
	}
}

func TestFunctionErrorIsAResultAndTheProcessStaysWarm(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), nil)

	res, err := r.Invoke(ctx, []byte(`{"fail":"token endpoint said no"}`))
	if err != nil {
		t.Fatalf("Invoke(fail) error = %v; want a Result with Err", err)
	}
	if res.Err == nil || res.Payload != nil {
		t.Fatalf("Invoke(fail) = payload %q, Err %v; want only Err", res.Payload, res.Err)
	}
	if res.Err.ErrorType != "echoError" || res.Err.ErrorMessage != "token endpoint said no" {
		t.Errorf("Invoke(fail).Err = %q, %q; want echoError, token endpoint said no", res.Err.ErrorType, res.Err.ErrorMessage)
	}
	var doc map[string]any
	if err := json.Unmarshal(res.Err.Raw, &doc); err != nil || doc["errorMessage"] != "token endpoint said no" {
		t.Errorf("Invoke(fail).Err.Raw = %s; want the posted error document", res.Err.Raw)
	}
	if res.RequestID == "" {
		t.Error("Invoke(fail).RequestID is empty")
	}

	_, resp := invokeEcho(ctx, t, r, `{"message":"after"}`)
	if resp.Invocation != 2 {
		t.Errorf("invocation after the error: counter %d; want 2 (same process)", resp.Invocation)
	}
}

func TestPanicIsReportedThenTheProcessExits(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), nil)

	res, err := r.Invoke(ctx, []byte(`{"panic":"kaboom"}`))
	if err != nil {
		t.Fatalf("Invoke(panic) error = %v; want a Result with Err", err)
	}
	if res.Err == nil || res.Err.ErrorType != "string" || res.Err.ErrorMessage != "kaboom" {
		t.Fatalf("Invoke(panic).Err = %v; want string: kaboom", res.Err)
	}
	// aws-lambda-go exits after reporting a panic.
	pe := processError(ctx, t, r, `{"message":"after"}`)
	if pe.DuringInit || pe.ExitCode != 1 || pe.StoppedBecause != "" {
		t.Errorf("after panic: %v; want exit status 1 after init", pe)
	}
}

func TestInvocationContextReachesTheHandler(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const timeout = 7 * time.Second
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), []string{"AWS_REGION=eu-central-1"},
		lambdatest.WithFunctionName("echo-fn"), lambdatest.WithTimeout(timeout))

	before := time.Now()
	res, err := r.Invoke(ctx, []byte(`{"message":"ctx"}`))
	after := time.Now()
	if err != nil || res.Err != nil {
		t.Fatalf("Invoke = %+v, %v; want success", res, err)
	}
	var resp echoResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.RequestID != res.RequestID || len(res.RequestID) != 36 {
		t.Errorf("handler saw request id %q; Result.RequestID %q; want the same UUID", resp.RequestID, res.RequestID)
	}
	if want := "arn:aws:lambda:eu-central-1:123456789012:function:echo-fn"; resp.FunctionARN != want {
		t.Errorf("handler saw function ARN %q; want %q", resp.FunctionARN, want)
	}
	if lo, hi := before.Add(timeout).UnixMilli(), after.Add(timeout).UnixMilli(); resp.DeadlineMS < lo || resp.DeadlineMS > hi {
		t.Errorf("handler saw deadline %d ms; want within [%d, %d] (delivery + %v)", resp.DeadlineMS, lo, hi, timeout)
	}
	// Each invocation gets a Lambda-shaped trace id of its own.
	if !strings.HasPrefix(resp.TraceID, "Root=1-") || !strings.Contains(resp.TraceID, ";Parent=") {
		t.Errorf("handler saw _X_AMZN_TRACE_ID %q; want Root=1-…;Parent=…", resp.TraceID)
	}
	if _, next := invokeEcho(ctx, t, r, `{}`); next.TraceID == resp.TraceID {
		t.Errorf("two invocations saw the same trace id %q; want one each", resp.TraceID)
	}
}

// Not parallel: it sets an environment variable of the test process.
func TestEnvironmentIsLambdasAndHermetic(t *testing.T) {
	t.Setenv("LAMBDATEST_PARENT_ONLY", "must-not-leak")
	ctx := testContext(t)
	taskRoot := t.TempDir()
	r := lambdatest.Start(t, lambdatest.BuildEcho(t),
		[]string{"EXTRA=1", "AWS_LAMBDA_RUNTIME_API=203.0.113.1:1"},
		lambdatest.WithMemory(512), lambdatest.WithTaskRoot(taskRoot), lambdatest.WithFunctionName("env-fn"))

	_, resp := invokeEcho(ctx, t, r, `{"env":true}`)
	env := map[string]string{}
	for _, kv := range resp.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, want := range map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "env-fn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/env-fn",
		"LAMBDA_TASK_ROOT":                taskRoot,
		"_HANDLER":                        "bootstrap",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"EXTRA":                           "1",
		"PATH":                            os.Getenv("PATH"),
	} {
		if env[k] != want {
			t.Errorf("child %s = %q; want %q", k, env[k], want)
		}
	}
	if api := env["AWS_LAMBDA_RUNTIME_API"]; !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("child AWS_LAMBDA_RUNTIME_API = %q; want the loopback fake, not overridable", api)
	}
	if !strings.Contains(env["AWS_LAMBDA_LOG_STREAM_NAME"], "/[$LATEST]") {
		t.Errorf("child AWS_LAMBDA_LOG_STREAM_NAME = %q; want …/[$LATEST]…", env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if _, ok := env["LAMBDATEST_PARENT_ONLY"]; ok {
		t.Error("the parent's LAMBDATEST_PARENT_ONLY reached the function; want only PATH and HOME passed on")
	}
	wantDir, _ := filepath.EvalSymlinks(taskRoot)
	if gotDir, _ := filepath.EvalSymlinks(resp.Dir); gotDir != wantDir {
		t.Errorf("child working directory %q; want the task root %q", resp.Dir, taskRoot)
	}
	if resp.MemoryMB != 512 || resp.FunctionVersion != "$LATEST" || resp.FunctionName != "env-fn" || resp.LogGroup != "/aws/lambda/env-fn" {
		t.Errorf("lambdacontext saw memory %d, version %q, name %q, group %q; want 512, $LATEST, env-fn, /aws/lambda/env-fn",
			resp.MemoryMB, resp.FunctionVersion, resp.FunctionName, resp.LogGroup)
	}
}

func TestExitAtInitIsReported(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), []string{"ECHO_INIT_EXIT=PROFILES_FILE not set"})

	pe := processError(ctx, t, r, `{"message":"never"}`)
	if !pe.DuringInit || pe.ExitCode != 3 || pe.InitError != nil || pe.StoppedBecause != "" {
		t.Errorf("ProcessError = %+v; want exit status 3 during init", pe)
	}
	msg := pe.Error()
	for _, want := range []string{"exited (exit status 3) during init", "echo: init failed: PROFILES_FILE not set"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if _, err := r.WaitInit(ctx); !errors.As(err, &pe) {
		t.Errorf("WaitInit = %v; want a *ProcessError", err)
	}
	if d := r.InitDuration(); d != 0 {
		t.Errorf("InitDuration() = %v; want 0 for a function that never initialised", d)
	}
}

func TestInitErrorIsReported(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), []string{"ECHO_INIT_ERROR=profiles document invalid"})

	pe := processError(ctx, t, r, `{"message":"never"}`)
	if pe.InitError == nil {
		t.Fatalf("ProcessError = %v; want the init error", pe)
	}
	if pe.InitError.ErrorType != "EchoInitError" || pe.InitError.ErrorMessage != "profiles document invalid" ||
		pe.InitError.TypeHeader != "Runtime.EchoInitError" {
		t.Errorf("InitError = %+v; want EchoInitError, profiles document invalid, header Runtime.EchoInitError", pe.InitError)
	}
	if !pe.DuringInit || !strings.Contains(pe.Error(), "init error EchoInitError: profiles document invalid") {
		t.Errorf("error %q; want it to name the init error", pe)
	}
	t.Logf("reported as: %v", pe)
}

func TestProcessThatHangsAfterInitErrorIsStopped(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), []string{"ECHO_INIT_ERROR=stuck", "ECHO_INIT_HANG=1"})

	_, err := r.WaitInit(ctx)
	var pe *lambdatest.ProcessError
	if !errors.As(err, &pe) {
		t.Fatalf("WaitInit = %v; want a *ProcessError", err)
	}
	if pe.InitError == nil || pe.Status != "signal: killed" || !strings.Contains(pe.StoppedBecause, "init error") {
		t.Errorf("ProcessError = %+v; want the init error and a killed process", pe)
	}
}

func TestExitDuringInvocationIsReported(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), nil)
	invokeEcho(ctx, t, r, `{"message":"warm"}`)

	pe := processError(ctx, t, r, `{"exit":2,"log":"about to exit"}`)
	if pe.DuringInit || pe.ExitCode != 2 || !strings.Contains(pe.Error(), "exited (exit status 2)") {
		t.Errorf("ProcessError = %v; want exit status 2 after init", pe)
	}
	if !slices.Contains(pe.Output, "about to exit") {
		t.Errorf("ProcessError.Output = %q; want the last lines, with %q", pe.Output, "about to exit")
	}
	// Every later invocation says the same.
	processError(ctx, t, r, `{"message":"again"}`)
}

func TestTimeoutFailsTheInvocationAndStopsTheProcess(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const timeout = 300 * time.Millisecond
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), nil, lambdatest.WithTimeout(timeout))

	res, err := r.Invoke(ctx, []byte(`{"hang":true}`))
	if err != nil {
		t.Fatalf("Invoke(hang) error = %v; want a timed-out Result", err)
	}
	if res.Err == nil || res.Err.ErrorType != lambdatest.TimeoutErrorType ||
		!strings.HasSuffix(res.Err.ErrorMessage, res.RequestID+" Task timed out after 0.30 seconds") {
		t.Fatalf("Invoke(hang).Err = %v; want %s … Task timed out after 0.30 seconds", res.Err, lambdatest.TimeoutErrorType)
	}
	if res.Duration < timeout {
		t.Errorf("Invoke(hang).Duration = %v; want at least %v", res.Duration, timeout)
	}
	pe := processError(ctx, t, r, `{"message":"after"}`)
	if !strings.Contains(pe.StoppedBecause, "timed out") || pe.Status != "signal: killed" {
		t.Errorf("after a timeout: %v; want the process killed because the invocation timed out", pe)
	}
}

func TestOversizedResponseIsRefused(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), nil)

	res, err := r.Invoke(ctx, []byte(`{"pad":6291457}`))
	if err != nil {
		t.Fatalf("Invoke(pad) error = %v; want a Result with Err", err)
	}
	if res.Err == nil || res.Err.ErrorType != "Function.ResponseSizeTooLarge" {
		t.Fatalf("Invoke(pad).Err = %v; want Function.ResponseSizeTooLarge", res.Err)
	}
}

func TestLogsAreCapturedLineByLine(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), nil)

	res, _ := invokeEcho(ctx, t, r, `{"message":"m","log":"plain line on stderr"}`)
	r.Close() // all output is in
	logs := r.Logs()
	if len(logs) < 3 || !strings.Contains(logs[0], `"msg":"init"`) {
		t.Errorf("Logs() = %q; want the init record first, then the invocation's lines", logs)
	}
	invoke := slices.IndexFunc(logs, func(l string) bool {
		var rec struct{ Msg, RequestID string }
		_ = json.Unmarshal([]byte(strings.Replace(l, `"request_id"`, `"RequestID"`, 1)), &rec)
		return rec.Msg == "invoke" && rec.RequestID == res.RequestID
	})
	if invoke < 0 || !json.Valid([]byte(logs[invoke])) {
		t.Errorf("Logs() = %q; want the JSON invoke record of %s", logs, res.RequestID)
	}
	if !slices.Contains(logs, "plain line on stderr") {
		t.Errorf("Logs() = %q; want the stderr line as one line", logs)
	}
}

// Not parallel: it counts the package's goroutines.
func TestCloseLeavesNoProcessAndNoGoroutine(t *testing.T) {
	ctx := testContext(t)
	bin := lambdatest.BuildEcho(t)
	r, err := lambdatest.Launch(ctx, bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	invokeEcho(ctx, t, r, `{"message":"before close"}`)
	pid := r.PID()

	r.Close()
	r.Close() // a second Close is harmless
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Close, kill(%d, 0) = %v; want ESRCH (no process)", pid, err)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Close, kill(-%d, 0) = %v; want ESRCH (no process group)", pid, err)
	}
	if _, err := r.Invoke(ctx, []byte(`{}`)); !errors.Is(err, lambdatest.ErrClosed) {
		t.Errorf("Invoke after Close = %v; want ErrClosed", err)
	}
	if left := lambdatestGoroutines(); len(left) > 0 {
		t.Errorf("after Close, goroutines remain:\n%s", strings.Join(left, "\n\n"))
	}
}

func TestCloseSendsSIGTERMFirst(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), []string{"ECHO_SIGTERM=1"})
	if _, err := r.WaitInit(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if !slices.ContainsFunc(r.Logs(), func(l string) bool { return strings.Contains(l, `"msg":"sigterm"`) }) {
		t.Errorf("Logs() after Close = %q; want the function's SIGTERM hook to have run", r.Logs())
	}
}

func TestLaunchContextEndsTheProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(testContext(t))
	r, err := lambdatest.Launch(ctx, lambdatest.BuildEcho(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.WaitInit(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	r.Close() // waits for the Close that cancel started
	var pe *lambdatest.ProcessError
	if _, err := r.Invoke(testContext(t), []byte(`{}`)); !errors.Is(err, lambdatest.ErrClosed) && !errors.As(err, &pe) {
		t.Errorf("Invoke after the launch context ended = %v; want ErrClosed or a *ProcessError", err)
	}
}

func TestInvokeHonoursItsContext(t *testing.T) {
	t.Parallel()
	r := lambdatest.Start(t, lambdatest.BuildEcho(t), nil)
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if _, err := r.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Invoke(cancelled context) = %v; want context.Canceled", err)
	}
}

// lambdatestGoroutines returns the stacks of goroutines that run this
// package's code, os/exec's or an HTTP server's. Goroutines finishing their
// last instructions get a moment to go.
func lambdatestGoroutines() []string {
	deadline := time.Now().Add(2 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "lambdatest.(*") || strings.Contains(g, "os/exec.") ||
				strings.Contains(g, "net/http.(*Server).Serve") {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		runtime.Gosched()
	}
}

// failedTB is a test that has failed, recording what Start does at cleanup.
type failedTB struct {
	testing.TB
	cleanups []func()
	logged   []string
}

func (f *failedTB) Helper()           {}
func (f *failedTB) Failed() bool      { return true }
func (f *failedTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *failedTB) Log(args ...any)   { f.logged = append(f.logged, fmt.Sprint(args...)) }
func (f *failedTB) Logf(format string, args ...any) {
	f.logged = append(f.logged, fmt.Sprintf(format, args...))
}

func TestStartLogsTheOutputOfAFailedTest(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	tb := &failedTB{TB: t}
	r := lambdatest.Start(tb, lambdatest.BuildEcho(t), nil)
	invokeEcho(ctx, t, r, `{"log":"clue for the failure"}`)
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		tb.cleanups[i]()
	}
	if len(tb.logged) != 1 || !strings.HasPrefix(tb.logged[0], "lambdatest: output of ") ||
		!strings.Contains(tb.logged[0], "\n\tclue for the failure") {
		t.Errorf("a failed test logged %q; want the function's output", tb.logged)
	}
}
