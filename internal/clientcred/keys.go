package clientcred

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"time"
)

// timeNow is the clock certificates are checked against; tests replace it.
var timeNow = time.Now

// The client assertion algorithms a private_key_jwt secret may name.
const (
	RS256 = "RS256"
	PS256 = "PS256"
	ES256 = "ES256"
)

// minRSABits is the smallest RSA key accepted (RFC 7518 section 3.3).
const minRSABits = 2048

// parseKeys parses private_key and certificate, when present, checks that
// they match and that the certificate is valid at now, and settles the
// algorithm. No error quotes any part of either field.
func (c *Credentials) parseKeys(now time.Time) error {
	if c.privateKey == "" {
		switch {
		case c.certificate != "":
			return malformed(c.SecretID, "certificate is given without private_key; tls_client_auth needs both (PEM)")
		case c.KeyID != "" || c.Algorithm != "":
			return malformed(c.SecretID, "key_id or algorithm is given without private_key")
		}
		return nil
	}
	key, err := parsePrivateKey(c.privateKey)
	if err != nil {
		return malformed(c.SecretID, "private_key %s", err)
	}
	c.key = key
	if c.Algorithm, err = algorithmFor(key, c.Algorithm); err != nil {
		return malformed(c.SecretID, "algorithm %s", err)
	}
	if c.certificate == "" {
		return nil
	}
	cert, err := parseCertificate(c.certificate, key, now)
	if err != nil {
		return malformed(c.SecretID, "certificate %s", err)
	}
	c.cert = cert
	return nil
}

// problem is an error message about a field; it never holds field content.
type problem string

// Error is the message, which names the field and never its content.
func (p problem) Error() string { return string(p) }

// parsePrivateKey accepts one PEM block holding a PKCS#8, PKCS#1 or SEC1
// private key: RSA of at least 2048 bits or ECDSA P-256.
func parsePrivateKey(s string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, problem(`is not PEM (it must start with "-----BEGIN PRIVATE KEY-----"; in JSON, write line breaks as \n)`)
	}
	if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, problem("is encrypted; store it unencrypted (Secrets Manager encrypts the secret)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, problem("is a PEM " + quoteType(block.Type) + " block; want PRIVATE KEY (PKCS#8), RSA PRIVATE KEY (PKCS#1) or EC PRIVATE KEY (SEC1)")
	}
	if err != nil {
		// x509's errors do not quote the key, but say nothing useful either.
		return nil, problem("does not parse as a " + quoteType(block.Type) + " block")
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return nil, problem("is an RSA key shorter than 2048 bits")
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, problem("is an EC key on " + k.Curve.Params().Name + "; ES256 needs P-256")
		}
		return k, nil
	default:
		return nil, problem("is neither an RSA nor a P-256 EC key (RS256, PS256 and ES256 are supported)")
	}
}

// quoteType shortens a PEM type for an error (it is a label, not key
// material, but could be anything).
func quoteType(t string) string {
	if len(t) > 40 {
		t = t[:40] + "…"
	}
	return `"` + t + `"`
}

// algorithmFor checks the secret's algorithm against the key, or picks the
// default: RS256 for RSA keys, ES256 for P-256 keys.
func algorithmFor(key crypto.Signer, alg string) (string, error) {
	_, isRSA := key.(*rsa.PrivateKey)
	switch {
	case alg == "" && isRSA:
		return RS256, nil
	case alg == "":
		return ES256, nil
	case isRSA && (alg == RS256 || alg == PS256), !isRSA && alg == ES256:
		return alg, nil
	case isRSA:
		return "", problem("must be RS256 or PS256 for an RSA private_key, not " + quoteType(alg))
	default:
		return "", problem("must be ES256 for a P-256 private_key, not " + quoteType(alg))
	}
}

// parseCertificate parses the PEM certificate chain (leaf first), checks
// that the leaf's public key is key's and that it is valid at now.
func parseCertificate(s string, key crypto.Signer, now time.Time) (*tls.Certificate, error) {
	rest := []byte(strings.TrimSpace(s))
	var chain [][]byte
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, problem("holds a PEM " + quoteType(block.Type) + " block; want only CERTIFICATE blocks (leaf first)")
		}
		chain = append(chain, block.Bytes)
	}
	if len(chain) == 0 {
		return nil, problem(`is not PEM (it must start with "-----BEGIN CERTIFICATE-----"; in JSON, write line breaks as \n)`)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, problem("does not parse as an X.509 certificate")
	}
	if !samePublicKey(leaf.PublicKey, key.Public()) {
		return nil, problem("does not match private_key (the certificate was issued for another key)")
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, problem("expired on " + leaf.NotAfter.UTC().Format(time.RFC3339) + "; store a renewed certificate")
	case now.Before(leaf.NotBefore):
		return nil, problem("is not valid before " + leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
