package oauthtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"
)

// Key is a generated client key for private_key_jwt and mTLS tests.
type Key struct {
	// Signer is the private key.
	Signer crypto.Signer
	// PEM is the private key as a PKCS#8 PEM block, the form a credentials
	// secret's private_key holds.
	PEM string
	// PKCS1PEM is the same key as PKCS#1 (RSA) or SEC1 (EC).
	PKCS1PEM string
}

// Public returns the public key.
func (k Key) Public() crypto.PublicKey { return k.Signer.Public() }

var (
	rsaOnce sync.Once
	rsaKey  Key
	ecOnce  sync.Once
	ecKey   Key
)

// RSAKey returns a 2048-bit RSA key, generated once per process (RSA key
// generation is slow under -race).
func RSAKey() Key {
	rsaOnce.Do(func() { rsaKey = NewRSAKey() })
	return rsaKey
}

// ECKey returns a P-256 key, generated once per process.
func ECKey() Key {
	ecOnce.Do(func() { ecKey = NewECKey() })
	return ecKey
}

// NewRSAKey generates a fresh 2048-bit RSA key.
func NewRSAKey() Key {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: generate RSA key: %v", err))
	}
	return encodeKey(k, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// NewECKey generates a fresh P-256 key.
func NewECKey() Key {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: generate EC key: %v", err))
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: encode EC key: %v", err))
	}
	return encodeKey(k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

func encodeKey(k crypto.Signer, legacy []byte) Key {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: encode key: %v", err))
	}
	return Key{Signer: k, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), PKCS1PEM: string(legacy)}
}

// CA is a test certificate authority: it issues the server certificate of
// an mTLS token endpoint and the clients' certificates.
type CA struct {
	// Cert is the CA certificate; Pool holds it alone.
	Cert *x509.Certificate
	Pool *x509.CertPool
	key  crypto.Signer
	next int64
	mu   sync.Mutex
}

// NewCA creates a CA with a key of its own, valid from an hour ago for a
// day.
func NewCA() *CA {
	key := NewECKey().Signer
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "oauthtest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: create CA: %v", err))
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Pool: pool, key: key, next: 2}
}

// Issue signs a certificate for pub named cn, valid from notBefore to
// notAfter; server certificates are for 127.0.0.1 and localhost. It returns
// the certificate as PEM.
func (ca *CA) Issue(cn string, pub crypto.PublicKey, notBefore, notAfter time.Time, server bool) string {
	ca.mu.Lock()
	serial := ca.next
	ca.next++
	ca.mu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: issue certificate: %v", err))
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// ClientCert issues a client certificate for key, valid for a day.
func (ca *CA) ClientCert(cn string, key Key) string {
	return ca.Issue(cn, key.Public(), time.Now().Add(-time.Minute), time.Now().Add(24*time.Hour), false)
}

// ServerTLS returns a server TLS configuration with a certificate for the
// loopback addresses that asks for client certificates issued by this CA
// (verified when presented; a handler decides whether one is required).
func (ca *CA) ServerTLS() *tls.Config {
	key := NewECKey()
	certPEM := ca.Issue("127.0.0.1", key.Public(), time.Now().Add(-time.Minute), time.Now().Add(24*time.Hour), true)
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(key.PEM))
	if err != nil {
		panic(fmt.Sprintf("oauthtest: server key pair: %v", err))
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    ca.Pool,
		MinVersion:   tls.VersionTLS12,
	}
}
