package perf

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
)

// simClock is simulated time, safe to read from any goroutine.
type simClock struct{ ns atomic.Int64 }

func newSimClock(t time.Time) *simClock {
	c := &simClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *simClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *simClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *simClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// simStart is when every simulation starts.
var simStart = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// memSSM is an in-memory SSM Parameter Store: the operations the rotator's
// store (tokenstore.API) and the consumer's cache
// (tokencache.ParameterGetter) use, with SSM's semantics for what they use
// (versions, Overwrite=false on an existing name, not-found errors), and a
// count of every call. It is safe for concurrent use.
type memSSM struct {
	mu     sync.Mutex
	params map[string]memParam

	getParameter, getParameters, putRecord, putLease, deleteParameter atomic.Int64
}

type memParam struct {
	value   string
	typ     types.ParameterType
	version int64
}

var (
	_ tokenstore.API             = (*memSSM)(nil)
	_ tokencache.ParameterGetter = (*memSSM)(nil)
)

func newMemSSM() *memSSM { return &memSSM{params: map[string]memParam{}} }

func (m *memSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	m.getParameter.Add(1)
	name := aws.ToString(in.Name)
	m.mu.Lock()
	p, ok := m.params[name]
	m.mu.Unlock()
	if !ok {
		return nil, &types.ParameterNotFound{Message: aws.String(name)}
	}
	return &ssm.GetParameterOutput{Parameter: &types.Parameter{Name: aws.String(name), Value: aws.String(p.value), Type: p.typ, Version: p.version}}, nil
}

func (m *memSSM) GetParameters(_ context.Context, in *ssm.GetParametersInput, _ ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	m.getParameters.Add(1)
	if len(in.Names) > tokenstore.BatchSize {
		return nil, fmt.Errorf("memSSM: GetParameters with %d names; SSM takes at most 10", len(in.Names))
	}
	out := &ssm.GetParametersOutput{}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range in.Names {
		p, ok := m.params[name]
		if !ok {
			out.InvalidParameters = append(out.InvalidParameters, name)
			continue
		}
		out.Parameters = append(out.Parameters, types.Parameter{Name: aws.String(name), Value: aws.String(p.value), Type: p.typ, Version: p.version})
	}
	return out, nil
}

func (m *memSSM) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	name := aws.ToString(in.Name)
	if strings.HasSuffix(name, ".lock") {
		m.putLease.Add(1)
	} else {
		m.putRecord.Add(1)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, exists := m.params[name]
	if exists && !aws.ToBool(in.Overwrite) {
		return nil, &types.ParameterAlreadyExists{Message: aws.String(name)}
	}
	m.params[name] = memParam{value: aws.ToString(in.Value), typ: in.Type, version: p.version + 1}
	return &ssm.PutParameterOutput{Version: p.version + 1}, nil
}

// GetParameterHistory answers with the current version only: this fake
// keeps no history.
func (m *memSSM) GetParameterHistory(_ context.Context, in *ssm.GetParameterHistoryInput, _ ...func(*ssm.Options)) (*ssm.GetParameterHistoryOutput, error) {
	name := aws.ToString(in.Name)
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.params[name]
	if !ok {
		return nil, &types.ParameterNotFound{Message: aws.String(name)}
	}
	return &ssm.GetParameterHistoryOutput{Parameters: []types.ParameterHistory{{Name: aws.String(name), Value: aws.String(p.value), Type: p.typ, Version: p.version}}}, nil
}

func (m *memSSM) DeleteParameter(_ context.Context, in *ssm.DeleteParameterInput, _ ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error) {
	m.deleteParameter.Add(1)
	name := aws.ToString(in.Name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.params[name]; !ok {
		return nil, &types.ParameterNotFound{Message: aws.String(name)}
	}
	delete(m.params, name)
	return &ssm.DeleteParameterOutput{}, nil
}

// memSecrets is an in-memory Secrets Manager holding client credentials,
// counting GetSecretValue calls.
type memSecrets struct {
	values map[string]string // set before use
	reads  atomic.Int64
}

var _ clientcred.SecretsAPI = (*memSecrets)(nil)

func (m *memSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	m.reads.Add(1)
	v, ok := m.values[aws.ToString(in.SecretId)]
	if !ok {
		return nil, fmt.Errorf("memSecrets: no secret %q", aws.ToString(in.SecretId))
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

// simFetcher issues tokens of a fixed lifetime at once, in simulated time,
// counting them.
type simFetcher struct {
	lifetime time.Duration
	calls    atomic.Int64
}

func (f *simFetcher) Fetch(_ context.Context, _ oauth.Request) (oauth.Token, error) {
	n := f.calls.Add(1)
	return oauth.Token{AccessToken: fmt.Sprintf("sim-token-%d", n), TokenType: "Bearer", ExpiresIn: f.lifetime}, nil
}
