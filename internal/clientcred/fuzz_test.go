package clientcred

import (
	"errors"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
)

// fuzzSecret stands for the client secret in fuzzed SecretStrings. No piece
// of it occurs in this package's messages, so a piece of it in an error
// came from the secret.
const fuzzSecret = "Hq2Wv8Kx4Nb6Zt1Ym3Rp"

// FuzzParse feeds Parse SecretStrings of the form prefix + fuzzSecret +
// suffix. It must not panic; accepted credentials have a client id and a
// secret or a key; a
// refusal is an ErrMalformed that names the secret and the problem and
// never contains a piece of the secret value.
func FuzzParse(f *testing.F) {
	for _, s := range [][2]string{
		{`{"client_id":"id-1","client_secret":"`, `"}`},
		{`{"client_id":"id-1","client_secret":"`, `","note":{"x":[1,2]}}`},
		{`{"client_id":"id-1","client_secret":"`, ``},
		{`{"client_id":"","client_secret":"`, `"}`},
		{`{"client_id":"id-1","client_secret":"`, `","client_secret":""}`},
		{`{"client_id":1,"client_secret":"`, `"}`},
		{`{"client_id":"`, `"}`},
		{`{"client_secret":`, `}`},
		{``, ``},
		{`"`, `"`},
		{`client_id=id-1&client_secret=`, ``},
		{`{"client_id":"id-1","private_key":"-----BEGIN PRIVATE KEY-----\n`, `\n-----END PRIVATE KEY-----\n"}`},
		{`{"client_id":"id-1","private_key":"-----BEGIN RSA PRIVATE KEY-----\nMIIB`, `\n-----END RSA PRIVATE KEY-----\n","key_id":"k"}`},
		{`{"client_id":"id-1","client_secret":"x","certificate":"-----BEGIN CERTIFICATE-----\n`, `\n-----END CERTIFICATE-----\n"}`},
		{`{"client_id":"id-1","client_secret":"`, `","algorithm":"ES256"}`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, prefix, suffix string) {
		const id = "oauth-clients/fuzz"
		c, err := Parse(id, []byte(prefix+fuzzSecret+suffix))
		if err == nil {
			if c.ClientID == "" || (c.ClientSecret == "" && c.Signer() == nil) {
				t.Fatalf("Parse accepted %v with an empty field", c)
			}
			return
		}
		msg := err.Error()
		if !errors.Is(err, ErrMalformed) || !strings.Contains(msg, `"`+id+`"`) || !namesField(msg) {
			t.Fatalf("Parse = %q; want ErrMalformed naming the secret and the field", msg)
		}
		if _, copied := leakcheck.Find(prefix+suffix, fuzzSecret); copied {
			return // the fuzzer repeated the secret elsewhere in the input
		}
		if piece, found := leakcheck.Find(msg, fuzzSecret); found {
			t.Errorf("Parse(%q) = %q; it contains %q, a piece of the secret", prefix+fuzzSecret+suffix, msg, piece)
		}
	})
}

func namesField(msg string) bool {
	for _, f := range []string{"client_", "private_key", "certificate", "key_id", "algorithm"} {
		if strings.Contains(msg, f) {
			return true
		}
	}
	return false
}
