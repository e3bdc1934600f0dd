package tokenstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// LeaseName is the parameter that holds the lease on name: name +
// tokenrecord.LeaseSuffix (".lock", which no record name ends with; the
// suffix predates the name "lease" and is kept, so that deployed stacks and
// their IAM policy, which allows deleting only *.lock, keep working).
func LeaseName(name string) string { return name + tokenrecord.LeaseSuffix }

// Lease takes the lease on name for ttl. It returns ErrLeaseHeld when another
// run holds a lease that has not expired; an expired or unreadable lease
// (its holder died) is taken over. The returned release deletes the lease.
//
// A lease is created with Overwrite=false, which only one run can do. An
// expired one is taken over by overwriting it, and the take-over counts only
// if the version this write replaced holds the very value (unique by its
// nonce) that the run found expired: SSM numbers a parameter's versions one
// by one, so when several runs find the same expired lease, only the first
// write replaces it, and a late write over a lease that was released and
// created again since replaces that lease's value. (Deleting and
// re-creating it instead would let a second run delete the fresh lease of
// the first, and both would fetch the token.) The runs that lose that race
// have overwritten the winner's value too, so a lease is held until the
// latest expiry any of its versions names (GetParameterHistory), not the
// last value's: a loser's shorter lease cannot let a third run in while the
// winner works.
func (s *Store) Lease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (release func(context.Context), err error) {
	param := LeaseName(name)
	until := now.Add(ttl).UTC()
	// The nonce makes every lease value unique, so that release can tell
	// its own lease from one another run took over after it expired.
	value := owner + "#" + nonce() + " " + until.Format(time.RFC3339Nano)
	put := func(overwrite bool) (*ssm.PutParameterOutput, error) {
		return s.API.PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String(param), Value: aws.String(value), Type: types.ParameterTypeString,
			Overwrite: aws.Bool(overwrite), Tier: types.ParameterTierStandard,
			Description: aws.String("oauth-token-rotator lease: a run is refreshing this token"),
		})
	}
	// current reads the lease parameter: nil when there is none.
	current := func(ctx context.Context) (*types.Parameter, error) {
		res, err := s.API.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{param}})
		if err != nil || len(res.Parameters) != 1 {
			return nil, err
		}
		return &res.Parameters[0], nil
	}
	ours := func(p *types.Parameter) bool { return p != nil && aws.ToString(p.Value) == value }
	release = func(ctx context.Context) {
		// Delete the lease only while it is still ours: if it expired and
		// another run took it over, deleting it would let a third run in.
		// (SSM has no conditional delete; the window between this read and
		// the delete is the residual risk, documented in the package doc.)
		if held, err := current(ctx); err != nil || !ours(held) {
			return
		}
		_, _ = s.API.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(param)})
	}
	_, err = put(false)
	if err == nil {
		return release, nil
	}
	var exists *types.ParameterAlreadyExists
	if !errors.As(err, &exists) {
		return nil, fmt.Errorf("tokenstore: lease %s: %w", param, err)
	}
	// Someone holds it: take it over only if it has expired.
	versions, gerr := s.leaseHistory(ctx, param)
	if gerr != nil {
		return nil, fmt.Errorf("tokenstore: lease %s: %w", param, gerr)
	}
	if len(versions) == 0 {
		// Released in the meantime: create it again, if nobody else has.
		if _, err := put(false); err != nil {
			if !errors.As(err, &exists) {
				return nil, fmt.Errorf("tokenstore: lease %s: %w", param, err)
			}
			// Someone has; it may be this very create, answered late.
			if again, gerr := current(ctx); gerr != nil || !ours(again) {
				return nil, ErrLeaseHeld
			}
		}
		return release, nil
	}
	latest := slices.MaxFunc(versions, func(a, b types.ParameterHistory) int { return cmp.Compare(a.Version, b.Version) })
	if aws.ToString(latest.Value) == value {
		// Our own create: SSM applied it, but its answer was lost and the
		// SDK's retry found the lease existing.
		return release, nil
	}
	if until, ok := heldUntil(versions); ok && now.Before(until) {
		return nil, ErrLeaseHeld
	}
	out, err := put(true)
	if err != nil {
		return nil, fmt.Errorf("tokenstore: lease %s: take over expired lease: %w", param, err)
	}
	if out.Version == 1 {
		// The expired lease was released before this write, which created
		// a new one: a create, which only one run can make.
		return release, nil
	}
	won, err := s.overwrote(ctx, param, out.Version, aws.ToString(latest.Value))
	if err != nil {
		return nil, fmt.Errorf("tokenstore: lease %s: check take-over: %w", param, err)
	}
	if !won {
		return nil, ErrLeaseHeld // another run took it over first
	}
	return release, nil
}

// overwrote reports whether version of the lease parameter param (this
// run's take-over) was written right over expired, the value this run
// found expired. Version numbers alone cannot tell: they restart at 1
// when the lease is deleted and created again, so after a release and a
// fresh lease, a late take-over can make exactly the version number that
// follows the one it found. Lease values are unique (a nonce each), so
// the version before this run's holding exactly the value it found
// expired means no other run wrote, released or created the lease in
// between.
func (s *Store) overwrote(ctx context.Context, param string, version int64, expired string) (bool, error) {
	versions, err := s.leaseHistory(ctx, param)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(versions, func(v types.ParameterHistory) bool { return v.Version == version-1 })
	return i >= 0 && aws.ToString(versions[i].Value) == expired, nil
}

// leaseHistory returns every version of the lease parameter param, none
// when there is no lease.
func (s *Store) leaseHistory(ctx context.Context, param string) ([]types.ParameterHistory, error) {
	in := &ssm.GetParameterHistoryInput{Name: aws.String(param), MaxResults: aws.Int32(50)}
	var out []types.ParameterHistory
	for {
		res, err := s.API.GetParameterHistory(ctx, in)
		var nf *types.ParameterNotFound
		switch {
		case errors.As(err, &nf):
			return nil, nil
		case err != nil:
			return nil, err
		}
		out = append(out, res.Parameters...)
		if aws.ToString(res.NextToken) == "" {
			return out, nil
		}
		in.NextToken = res.NextToken
	}
}

// heldUntil is when a lease with these versions expires: the latest expiry
// any of them names. A run that loses a take-over race has overwritten the
// winner's value with its own, perhaps shorter, lease: the winner's
// expiry, in the version before, still holds. Values without an expiry
// (not written by a Lease) name none.
func heldUntil(versions []types.ParameterHistory) (time.Time, bool) {
	var until time.Time
	for _, v := range versions {
		if exp, ok := leaseExpiry(aws.ToString(v.Value)); ok && exp.After(until) {
			until = exp
		}
	}
	return until, !until.IsZero()
}

// nonce returns 64 random bits in hex.
func nonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func leaseExpiry(v string) (time.Time, bool) {
	i := strings.LastIndexByte(v, ' ')
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v[i+1:])
	return t, err == nil
}
