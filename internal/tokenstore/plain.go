package tokenstore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// PutString stores value under name as a Standard String parameter,
// overwriting it: for what the rotator keeps beside the records that is
// not a secret (its failure record). Values over StandardLimit are refused.
func (s *Store) PutString(ctx context.Context, name, value string) error {
	if len(value) > StandardLimit {
		return fmt.Errorf("tokenstore: put %s: %d bytes is over the %d of a Standard parameter", name, len(value), StandardLimit)
	}
	_, err := s.API.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: types.ParameterTypeString,
		Overwrite: aws.Bool(true), Tier: types.ParameterTierStandard,
		Description: aws.String("oauth-token-rotator: the profiles whose last refresh failed (no token, no secret)"),
	})
	if err != nil {
		return fmt.Errorf("tokenstore: put %s: %w", name, err)
	}
	return nil
}
