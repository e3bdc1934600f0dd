package mototest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestStartSeedReset(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	s.MustPutClientSecret(t, "oauth-clients/x", "id-1", "sec-1")
	s.MustPutClientSecret(t, "oauth-clients/x", "id-2", "sec-2") // replaces
	_, sm := s.Clients(t)
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("oauth-clients/x")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.SecretString), `{"client_id":"id-2","client_secret":"sec-2"}`; got != want {
		t.Fatalf("GetSecretValue = %q; want %q", got, want)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("oauth-clients/x")}); err == nil {
		t.Fatal("GetSecretValue after Reset succeeded; want ResourceNotFound")
	}
	s.Close()
	s.Close() // idempotent
}
