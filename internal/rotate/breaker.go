package rotate

import (
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
)

// breakerThreshold is how many profiles of one token endpoint host must
// fail with a transient error (retries exhausted) before the rest of that
// host's profiles fail at once in the same run, so that one endpoint that
// is down cannot use up the run's time and starve other providers.
const breakerThreshold = 2

// breakers counts transient failures per token endpoint host in one run.
type breakers struct {
	mu    sync.Mutex
	count map[string]int
	last  map[string]string
}

func (b *breakers) open(host string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count[host] < breakerThreshold {
		return "", false
	}
	return fmt.Sprintf("not requested: %d other profiles of %s failed in this run (last: %s); the next run tries again", b.count[host], host, b.last[host]), true
}

func (b *breakers) failed(host, profile string, err error) {
	var oe *oauth.Error
	if !errors.As(err, &oe) || !oe.Retryable {
		return // a 4xx is about this profile, not the endpoint
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count == nil {
		b.count, b.last = map[string]int{}, map[string]string{}
	}
	b.count[host]++
	b.last[host] = profile
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Host
}
