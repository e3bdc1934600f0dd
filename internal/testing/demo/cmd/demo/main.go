package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/demo"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

func main() {
	invocations := flag.Int("invocations", 10, "warm invocations of the consumer")
	profile := flag.String("profile", "aviv-caas-sandbox-agency-42", "the consumer's profile")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := demo.Run(ctx, demo.Options{ConsumerInvocations: *invocations, ConsumerProfile: *profile})
	switch {
	case err == nil:
	case errors.Is(err, mototest.ErrNotInstalled):
		fmt.Fprintln(os.Stderr, "demo:", mototest.InstallHint)
		os.Exit(1)
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "demo: interrupted; every process it started has been stopped")
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "demo: FAILED:", err)
		os.Exit(1)
	}
}
