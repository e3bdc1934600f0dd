package perf

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
)

// profilesPerSecret is how many profiles share one credentials secret in
// the generated fleets, as AVIV CaaS agencies share one client.
const profilesPerSecret = 10

// fleetDoc returns a profiles document of n AVIV CaaS profiles (one per
// agency) at tokenURL, profilesPerSecret to a secret.
func fleetDoc(n int, tokenURL string) []byte {
	var b strings.Builder
	b.WriteString("profiles:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: agency-%04d\n    token_url: %s\n    secret_id: %s\n    audience: %s\n    params: {intermediary_id: agency-%04d}\n",
			i, tokenURL, secretFor(i), oauthtest.AVIVCaaS.Audiences[0], i)
	}
	return []byte(b.String())
}

// fleet parses fleetDoc with the given parameter prefix.
func fleet(t testing.TB, n int, tokenURL, prefix string) []profile.Profile {
	t.Helper()
	ps, err := profile.Parse(fleetDoc(n, tokenURL), profile.Options{ParameterPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// secretFor names the secret of profile i.
func secretFor(i int) string { return fmt.Sprintf("perf/aviv-client-%03d", i/profilesPerSecret) }

// clientFor is the client id (and, reversed, the secret) in secretFor(i).
func clientFor(i int) (id, secret string) {
	id = fmt.Sprintf("aviv-client-%03d", i/profilesPerSecret)
	return id, "s3cr3t-" + id
}

// secretValues returns the secrets of a fleet of n profiles, registering
// each client with the fake provider when idp is not nil.
func secretValues(n int, idp *oauthtest.Server) map[string]string {
	out := map[string]string{}
	for i := 0; i < n; i += profilesPerSecret {
		id, secret := clientFor(i)
		out[secretFor(i)] = fmt.Sprintf(`{"client_id":%q,"client_secret":%q}`, id, secret)
		if idp != nil {
			idp.AddClient(id, secret)
		}
	}
	return out
}

// discard is a logger for runs whose per-profile lines nobody reads.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// splitSSM counts PutParameter calls for records and for leases
// (<param>.lock) separately, and GetParameters calls that read leases;
// everything else goes straight to the API.
type splitSSM struct {
	tokenstore.API
	putRecord, putLease, getLease atomic.Int64
}

func (s *splitSSM) PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	if strings.HasSuffix(aws.ToString(in.Name), ".lock") {
		s.putLease.Add(1)
	} else {
		s.putRecord.Add(1)
	}
	return s.API.PutParameter(ctx, in, optFns...)
}

func (s *splitSSM) GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	if len(in.Names) == 1 && strings.HasSuffix(in.Names[0], ".lock") {
		s.getLease.Add(1)
	}
	return s.API.GetParameters(ctx, in, optFns...)
}

func (s *splitSSM) reset() {
	s.putRecord.Store(0)
	s.putLease.Store(0)
	s.getLease.Store(0)
}
