package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// AssertionLifetime is how long a client assertion is valid (its exp, from
// now): short, as RFC 7523 asks.
const AssertionLifetime = 2 * time.Minute

// AssertionClockSkew is how far back a client assertion's iat and nbf are
// dated, so that a token endpoint whose clock is up to that much behind
// this host's still accepts it: servers such as ory/fosite compare both
// with their own clock without leeway, and an assertion refused with
// invalid_client is not retried. (golang.org/x/oauth2/jws dates iat 10 s
// back for the same reason; Microsoft Entra ID allows 5 minutes of skew.)
// exp - iat is then 3 minutes, within Auth0's 5-minute maximum.
const AssertionClockSkew = time.Minute

// assertion signs a private_key_jwt client assertion (RFC 7523 section 3):
// iss = sub = client id, aud = the token URL unless the request names
// another, a random jti, iat and nbf AssertionClockSkew ago, exp
// AssertionLifetime from now; the header has kid when the secret has
// key_id, and x5t and x5t#S256 when it has a certificate.
func (c *Client) assertion(r Request) (string, error) {
	alg := r.Algorithm
	switch r.Key.(type) {
	case *rsa.PrivateKey:
		if alg == "" {
			alg = "RS256"
		}
	case *ecdsa.PrivateKey:
		if alg == "" {
			alg = "ES256"
		}
	default:
		return "", fmt.Errorf("%w: private_key is a %T; RSA or EC P-256 keys sign assertions", ErrCredentials, r.Key)
	}
	header := map[string]string{"alg": alg, "typ": "JWT"}
	if r.KeyID != "" {
		header["kid"] = r.KeyID
	}
	if r.Certificate != nil && len(r.Certificate.Certificate) > 0 {
		// The certificate's thumbprints, which Microsoft Entra ID uses
		// instead of kid to find the key (RFC 7515 sections 4.1.7 and 4.1.8).
		der := r.Certificate.Certificate[0]
		s1, s256 := sha1.Sum(der), sha256.Sum256(der)
		header["x5t"], header["x5t#S256"] = b64(s1[:]), b64(s256[:])
	}
	aud := r.AssertionAudience
	if aud == "" {
		aud = r.TokenURL
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("client assertion jti: %w", err)
	}
	now := c.now()
	issued := now.Add(-AssertionClockSkew).Unix()
	claims := map[string]any{
		"iss": r.ClientID, "sub": r.ClientID, "aud": aud, "jti": hex.EncodeToString(jti[:]),
		"iat": issued, "nbf": issued, "exp": now.Add(AssertionLifetime).Unix(),
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("client assertion header: %w", err)
	}
	cl, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("client assertion claims: %w", err)
	}
	signingInput := b64(h) + "." + b64(cl)
	sig, err := sign(r.Key, alg, []byte(signingInput))
	if err != nil {
		return "", err
	}
	return signingInput + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign signs input with key by JWS algorithm alg (RFC 7518 section 3).
func sign(key crypto.Signer, alg string, input []byte) ([]byte, error) {
	sum := sha256.Sum256(input)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		switch alg {
		case "RS256":
			return signed(rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:]))
		case "PS256":
			return signed(rsa.SignPSS(rand.Reader, k, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}))
		}
	case *ecdsa.PrivateKey:
		if alg == "ES256" && k.Curve.Params().BitSize == 256 {
			// JWS wants R || S, each 32 bytes, not ASN.1.
			rr, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
			if err != nil {
				return nil, fmt.Errorf("sign client assertion: %w", err)
			}
			out := make([]byte, 64)
			rr.FillBytes(out[:32])
			s.FillBytes(out[32:])
			return out, nil
		}
	}
	return nil, fmt.Errorf("%w: algorithm %q does not fit a %T private_key", ErrCredentials, alg, key)
}

func signed(sig []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, fmt.Errorf("sign client assertion: %w", err)
	}
	return sig, nil
}
