// Command echo is the Lambda function lambdatest's own tests drive. It
// answers each event with the event's message, a per-process invocation
// counter (which proves warm starts) and what it learnt from the Lambda
// context and environment. Fields of the event ask for misbehaviour: an
// error, a log line, an exit, a hang, an oversized answer.
//
// At init, ECHO_INIT_EXIT makes it exit with status 3; ECHO_INIT_ERROR makes
// it post that message to /runtime/init/error (as runtimes other than
// aws-lambda-go do) and exit with status 4, or hang when ECHO_INIT_HANG is
// also set. ECHO_SIGTERM registers a SIGTERM hook that logs and exits.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Message string `json:"message"`
	Fail    string `json:"fail,omitempty"`  // return an error with this message
	Log     string `json:"log,omitempty"`   // also write this line to stderr
	Exit    int    `json:"exit,omitempty"`  // exit with this status instead of answering
	Hang    bool   `json:"hang,omitempty"`  // never answer, ignoring the deadline
	Pad     int    `json:"pad,omitempty"`   // add this many bytes to the answer
	Env     bool   `json:"env,omitempty"`   // include the environment
	Panic   string `json:"panic,omitempty"` // panic with this value
}

type response struct {
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
	Env             []string `json:"env,omitempty"`
	Pad             string   `json:"pad,omitempty"`
}

// echoError is the error the handler returns on request; its type name is
// what the runtime client reports as errorType.
type echoError struct{ msg string }

// Error is the message the test asked for.
func (e *echoError) Error() string { return e.msg }

var invocations atomic.Int64

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if msg := os.Getenv("ECHO_INIT_EXIT"); msg != "" {
		fmt.Fprintln(os.Stderr, "echo: init failed:", msg)
		os.Exit(3)
	}
	if msg := os.Getenv("ECHO_INIT_ERROR"); msg != "" {
		if err := postInitError(msg); err != nil {
			fmt.Fprintln(os.Stderr, "echo: post init error:", err)
		}
		if os.Getenv("ECHO_INIT_HANG") != "" {
			time.Sleep(time.Hour) // until lambdatest stops the process
		}
		os.Exit(4)
	}
	var opts []lambda.Option
	if os.Getenv("ECHO_SIGTERM") != "" {
		opts = append(opts, lambda.WithEnableSIGTERM(func() {
			logger.Info("sigterm")
			os.Exit(0)
		}))
	}
	logger.Info("init", "pid", os.Getpid())
	lambda.StartWithOptions(handle(logger), opts...)
}

func handle(logger *slog.Logger) func(context.Context, request) (response, error) {
	return func(ctx context.Context, req request) (response, error) {
		n := invocations.Add(1)
		lc, _ := lambdacontext.FromContext(ctx)
		logger.Info("invoke", "request_id", lc.AwsRequestID, "invocation", n)
		if req.Log != "" {
			fmt.Fprintln(os.Stderr, req.Log)
		}
		switch {
		case req.Fail != "":
			return response{}, &echoError{req.Fail}
		case req.Panic != "":
			panic(req.Panic)
		case req.Exit != 0:
			os.Exit(req.Exit)
		case req.Hang:
			time.Sleep(time.Hour) // until lambdatest stops the process
		}
		deadline, _ := ctx.Deadline()
		dir, _ := os.Getwd()
		resp := response{
			Message:         req.Message,
			Invocation:      n,
			PID:             os.Getpid(),
			RequestID:       lc.AwsRequestID,
			FunctionARN:     lc.InvokedFunctionArn,
			DeadlineMS:      deadline.UnixMilli(),
			TraceID:         os.Getenv("_X_AMZN_TRACE_ID"),
			FunctionName:    lambdacontext.FunctionName,
			FunctionVersion: lambdacontext.FunctionVersion,
			MemoryMB:        lambdacontext.MemoryLimitInMB,
			LogGroup:        lambdacontext.LogGroupName,
			LogStream:       lambdacontext.LogStreamName,
			Dir:             dir,
			Pad:             strings.Repeat("x", req.Pad),
		}
		if req.Env {
			resp.Env = os.Environ()
		}
		return resp, nil
	}
}

// postInitError reports an init failure through the Runtime API, as the
// runtime interface clients of other languages do.
func postInitError(msg string) error {
	body, err := json.Marshal(map[string]string{"errorMessage": msg, "errorType": "EchoInitError"})
	if err != nil {
		return err
	}
	url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.EchoInitError")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}
