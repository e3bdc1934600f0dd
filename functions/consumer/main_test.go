package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// TestSetupWithMoto wires the function as main does, with AWS_ENDPOINT_URL
// pointing the SDK at moto, and invokes it with the sample event.
func TestSetupWithMoto(t *testing.T) {
	moto := mototest.Start(t)
	for _, kv := range moto.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	client, _ := moto.Clients(t)
	now := time.Now()
	rec, err := tokenrecord.Marshal(tokenrecord.Record{
		AccessToken: "token-moto", TokenType: "Bearer", Profile: testProfile,
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/team-tokens/" + testProfile), Value: aws.String(string(rec)),
		Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	api := newPartner(t, "token-moto")

	var metrics bytes.Buffer
	h, err := setup(env(map[string]string{
		"PROFILE": testProfile, "API_BASE_URL": api.URL, "TOKEN_PARAMETER_PREFIX": "/team-tokens",
	}), &metrics, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("setup = %v", err)
	}
	for range 3 {
		ans, err := h.Handle(ctx, sampleEvent(t))
		if err != nil || ans.Status != http.StatusOK {
			t.Fatalf("Handle(events/consumer.json) = %+v, %v; want status 200", ans, err)
		}
	}
	if got := h.cache.Stats().Reads; got != 1 {
		t.Errorf("parameter reads = %d; want 1", got)
	}
}

func TestSetupRefusesBadConfig(t *testing.T) {
	_, err := setup(env(map[string]string{"PROFILE": testProfile, "API_BASE_URL": "http://api.example.com"}),
		io.Discard, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "API_BASE_URL") {
		t.Errorf("setup with an http API_BASE_URL = %v; want an error naming API_BASE_URL", err)
	}
}
