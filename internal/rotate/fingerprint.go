package rotate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// fingerprint identifies the request configuration a token was issued for:
// a hash of the token URL, audience, scope and params, and one of the client
// id. It never contains the client secret.
func fingerprint(p profile.Profile, clientID string) string {
	return "v1:" + configHash(p) + ":" + clientHash(clientID)
}

func configHash(p profile.Profile) string {
	keys := slices.Sorted(maps.Keys(p.Params))
	params := make([][2]string, len(keys))
	for i, k := range keys {
		params[i] = [2]string{k, p.Params[k]}
	}
	b, _ := json.Marshal([]any{p.TokenURL, p.Audience, p.Scope, params})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func clientHash(clientID string) string {
	sum := sha256.Sum256([]byte("client_id:" + clientID))
	return hex.EncodeToString(sum[:8])
}

// issuedFor reports whether rec was issued for profile p as p is
// configured now: for its name, and its token URL, audience, scope and
// params.
func issuedFor(p profile.Profile, rec tokenrecord.Record) bool {
	return rec.Profile == p.Name && fingerprintPart(rec.Fingerprint, 0) == configHash(p)
}

// fingerprintPart returns part i (0: configuration, 1: client id) of a v1
// fingerprint, or "" for any other format.
func fingerprintPart(fp string, i int) string {
	parts := strings.Split(fp, ":")
	if len(parts) != 3 || parts[0] != "v1" {
		return ""
	}
	return parts[1+i]
}
