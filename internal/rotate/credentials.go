package rotate

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
)

// Credential changes (Request.CredentialsChanged).
//
// A Secrets Manager change event names its secret by name, by full ARN
// (with the six random characters Secrets Manager appends) or both, and a
// profile's secret_id may be any of a name, a full ARN or a partial ARN
// (without the suffix). A profile uses a changed secret when the two share
// a key: the id itself, and for an ARN its resource part with and without
// that suffix. A name that itself ends in a hyphen and six letters or
// digits can match one extra profile: that costs one token request, never
// a missed refresh.

// usingSecrets returns the profiles of ps whose secret is one of changed,
// and logs which they are for each secret, or that no profile uses it.
func (r *Rotator) usingSecrets(ctx context.Context, ps []profile.Profile, changed []string) []profile.Profile {
	var out []profile.Profile
	for _, id := range changed {
		var names []string
		for _, p := range ps {
			if sameSecret(p.SecretID, id) {
				names = append(names, p.Name)
				if !slices.ContainsFunc(out, func(q profile.Profile) bool { return q.Name == p.Name }) {
					out = append(out, p)
				}
			}
		}
		msg := "credentials changed: refreshing the profiles that use this secret"
		if len(names) == 0 {
			msg = "credentials changed: no profile uses this secret, nothing to refresh"
		}
		r.logger().LogAttrs(ctx, slog.LevelInfo, msg, slog.String("secret", id), slog.String("profiles", strings.Join(names, ",")))
	}
	return out
}

// logRefused says, per secret, which profiles could not be refreshed with
// its new value: their stored tokens are unchanged.
func (r *Rotator) logRefused(ctx context.Context, failed []Outcome) {
	bySecret := map[string][]string{}
	for _, o := range failed {
		for _, p := range r.Profiles {
			if p.Name == o.Profile {
				bySecret[p.SecretID] = append(bySecret[p.SecretID], p.Name)
			}
		}
	}
	for id, names := range bySecret {
		r.logger().LogAttrs(ctx, slog.LevelError, "credentials changed but not proven: the new value of this secret was refused or could not be used; the stored tokens are unchanged, fix the secret before they fall due",
			slog.String("secret", id), slog.String("profiles", strings.Join(names, ",")))
	}
}

// unchangedCredentials skips a profile that a credential change made due
// when the secret's current version (just read) is the one its stored
// token was requested with: there is no new value to prove, and a request
// would use the credentials already proven. Such events come from calls
// that leave AWSCURRENT where it was: a rotation's createSecret step
// (AWSPENDING), an UpdateSecret of the description alone, a repeated
// event. The stored token is then proven for the current credentials, so
// the profile stops failing (s.proven).
func (s *state) unchangedCredentials() {
	if s.cause != ReasonCredentialsChanged || s.creds.VersionID == "" ||
		s.stored == nil || s.stored.Err != nil || s.stored.Record.SecretVersion != s.creds.VersionID ||
		!issuedFor(s.p, s.stored.Record) {
		return
	}
	s.skip(fmt.Sprintf("credentials unchanged: secret %s's current version %s is the one its stored token was requested with; no token requested",
		s.p.SecretID, s.creds.VersionID))
	s.proven = true
}

// sameSecret reports whether two secret ids (names, full or partial ARNs)
// may name the same secret.
func sameSecret(a, b string) bool {
	ka, kb := secretKeys(a), secretKeys(b)
	for _, x := range ka {
		for _, y := range kb {
			if x == y {
				return true
			}
		}
	}
	return false
}

// secretKeys are the ways id may be written: itself and, for an ARN, its
// name with and without Secrets Manager's "-XXXXXX" suffix.
func secretKeys(id string) []string {
	_, name, ok := strings.Cut(id, ":secret:")
	if !strings.HasPrefix(id, "arn:") || !ok {
		return []string{id}
	}
	keys := []string{id, name}
	if i := len(name) - 7; i > 0 && name[i] == '-' && isAlnum(name[i+1:]) {
		keys = append(keys, name[:i])
	}
	return keys
}

func isAlnum(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
