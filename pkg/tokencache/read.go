package tokencache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/throttle"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// One read of a Source's parameter: GetParameter with backoff on
// throttling, within the read timeout, and the record it gives.

// result is what one read of the parameter gave.
type result struct {
	rec  tokenrecord.Record
	kind error // nil when rec holds a token valid at the read's end
	err  error
	at   time.Time // when the read ended
}

// fetch reads the parameter once, within the read timeout.
func (s *Source) fetch(ctx context.Context) result {
	c := s.c
	ctx, cancel := context.WithTimeout(ctx, c.readTimeout)
	defer cancel()
	out, err := s.get(ctx)
	r := result{at: c.now(), err: err}
	var notFound *types.ParameterNotFound
	switch {
	case errors.As(err, &notFound):
		r.kind = ErrNotFound
	case err != nil:
		r.kind, r.err = ErrReadFailed, fmt.Errorf("ssm GetParameter: %w", err)
	default:
		r.rec, r.kind, r.err = s.decode(out)
		if r.kind == nil && !r.rec.ValidAt(r.at, c.skew) {
			r.kind = ErrExpired
		}
	}
	return r
}

// Backoff between GetParameter calls that SSM throttled: full jitter over
// a window that doubles from readBackoffBase up to readBackoffMax.
const (
	readBackoffBase = 100 * time.Millisecond
	readBackoffMax  = time.Second
)

// Test hooks: the jitter in [0, 1), and the wait between throttled calls.
var (
	jitter   = rand.Float64
	sleepFor = defaultSleep
)

// spread returns a random duration in [0, d).
func spread(d time.Duration) time.Duration { return time.Duration(jitter() * float64(d)) }

func defaultSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// get calls GetParameter, and again after a jittered backoff each time SSM
// throttles it (ThrottlingException, also when the SDK's own retries or
// retry quota gave up on it), for as long as the read's timeout leaves
// time: Parameter Store's 40 reads per second are shared by the account,
// and a scale-out of cold containers reads at once.
func (s *Source) get(ctx context.Context) (*ssm.GetParameterOutput, error) {
	c := s.c
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		c.stats.reads.Add(1)
		out, err := c.client.GetParameter(ctx, &ssm.GetParameterInput{
			Name:           aws.String(s.param),
			WithDecryption: aws.Bool(true),
		})
		if err == nil || !throttle.Is(err) {
			return out, err
		}
		c.stats.throttled.Add(1)
		d := spread(min(readBackoffMax, readBackoffBase<<min(attempt, 10)))
		if waited+d >= c.readTimeout {
			return out, err
		}
		waited += d
		if sleepFor(ctx, d) != nil {
			return out, err
		}
	}
}

// decode parses a GetParameter answer into a record.
func (s *Source) decode(out *ssm.GetParameterOutput) (tokenrecord.Record, error, error) {
	if out == nil || out.Parameter == nil || out.Parameter.Value == nil {
		return tokenrecord.Record{}, ErrUnreadable, errors.New("the parameter has no value")
	}
	rec, err := tokenrecord.Parse([]byte(*out.Parameter.Value))
	if err != nil {
		return tokenrecord.Record{}, ErrUnreadable, err
	}
	if s.profile != "" && rec.Profile != s.profile {
		return tokenrecord.Record{}, ErrUnreadable, fmt.Errorf("the record is for profile %q", rec.Profile)
	}
	return rec, nil, nil
}
