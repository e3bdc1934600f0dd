package lambdatest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
)

// A program such as the local demo builds a function with BuildBinary (the
// Makefile's target) and runs it with Launch; here the package's own
// fixture, built with the same flags, stands in for a function. A test does
// the same in two lines with Build and Start:
//
//	rt := lambdatest.Start(t, lambdatest.Build(t, "./functions/rotator"), env)
//	res, err := rt.Invoke(ctx, event)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "lambdatest-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	if err := lambdatest.GoBuildEcho(ctx, bin); err != nil {
		log.Fatal(err)
	}

	rt, err := lambdatest.Launch(ctx, bin, []string{"AWS_REGION=eu-west-1"},
		lambdatest.WithFunctionName("echo"), lambdatest.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	for _, msg := range []string{"cold", "warm"} {
		res, err := rt.Invoke(ctx, []byte(`{"message":"`+msg+`"}`))
		if err != nil {
			log.Fatal(err) // the process ended: err says how, with its last output
		}
		if res.Err != nil {
			log.Fatal(res.Err) // the function returned an error
		}
		var answer struct {
			Message     string `json:"message"`
			Invocation  int    `json:"invocation"`
			FunctionARN string `json:"function_arn"`
		}
		if err := json.Unmarshal(res.Payload, &answer); err != nil {
			log.Fatal(err)
		}
		fmt.Println(answer.Invocation, answer.Message, answer.FunctionARN)
	}
	// Output:
	// 1 cold arn:aws:lambda:eu-west-1:123456789012:function:echo
	// 2 warm arn:aws:lambda:eu-west-1:123456789012:function:echo
}
