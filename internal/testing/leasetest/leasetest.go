package leasetest

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// GatedTakeOver is a tokenstore.API that calls Before ahead of each
// take-over of a lease (a PutParameter with Overwrite=true on a lease
// parameter): the run has found the lease expired and is about to take
// it. Before may block, holding the run there while others go on.
type GatedTakeOver struct {
	tokenstore.API
	Before func()
}

var _ tokenstore.API = GatedTakeOver{}

// PutParameter calls Before first when in takes over a lease.
func (g GatedTakeOver) PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	if aws.ToBool(in.Overwrite) && strings.HasSuffix(aws.ToString(in.Name), tokenrecord.LeaseSuffix) {
		g.Before()
	}
	return g.API.PutParameter(ctx, in, opts...)
}
