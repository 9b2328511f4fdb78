package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/mandatehq/mandate/internal/pemkey"
)

// Signing algorithms mandate supports.
const (
	ES256 = "ES256"
	RS256 = "RS256"
)

// rsaBits is the size of generated RS256 keys.
const rsaBits = 3072

// GenerateKey returns a new key pair for alg (ES256 or RS256) as PEM: the
// private key in PKCS #8 ("PRIVATE KEY"), the public key in PKIX ("PUBLIC KEY").
func GenerateKey(alg string) (private, public []byte, err error) {
	var key crypto.Signer
	switch alg {
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, nil, fmt.Errorf("unsupported algorithm %q (want ES256 or RS256)", alg)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("generating %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encoding public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), nil
}

// ParsePrivateKey parses a PEM private key (PKCS #8, PKCS #1 or SEC 1) and
// returns it with its bundle signing algorithm.
func ParsePrivateKey(data []byte) (crypto.Signer, string, error) {
	signer, err := pemkey.ParsePrivate(data)
	if err != nil {
		return nil, "", err
	}
	alg, err := algorithmOf(signer.Public())
	if err != nil {
		return nil, "", err
	}
	return signer, alg, nil
}

// ParsePublicKey parses a PEM public key (PKIX "PUBLIC KEY" or PKCS #1 "RSA
// PUBLIC KEY") and returns it with its algorithm.
func ParsePublicKey(data []byte) (crypto.PublicKey, string, error) {
	key, err := pemkey.ParsePublic(data)
	if err != nil {
		return nil, "", err
	}
	alg, err := algorithmOf(key)
	if err != nil {
		return nil, "", err
	}
	return key, alg, nil
}

func algorithmOf(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("unsupported ECDSA curve %s (want P-256 for ES256)", k.Curve.Params().Name)
		}
		return ES256, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA key of %d bits is too short (want at least 2048)", k.N.BitLen())
		}
		return RS256, nil
	}
	return "", fmt.Errorf("unsupported key type %T (want ECDSA P-256 or RSA)", pub)
}

// KeyID derives a key's id from its public key: the first 16 characters of
// the base64url (unpadded) SHA-256 of its PKIX DER encoding. It is the same
// derivation as the gateway's token keys (runtime/identity.KeyID), so one key
// has one id in bundle signatures, JWKS documents and configuration.
func KeyID(pub crypto.PublicKey) (string, error) { return pemkey.KeyID(pub) }

// KeyIDFromPEM is KeyID of a PEM public or private key.
func KeyIDFromPEM(data []byte) (string, error) {
	if pub, _, err := ParsePublicKey(data); err == nil {
		return KeyID(pub)
	}
	priv, _, err := ParsePrivateKey(data)
	if err != nil {
		return "", err
	}
	return KeyID(priv.Public())
}
