package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/mandatehq/mandate/internal/pemkey"
)

// KeyID derives a key id from a public key: the first 16 characters of the
// unpadded base64url SHA-256 of its DER (PKIX) encoding.
func KeyID(pub crypto.PublicKey) (string, error) { return pemkey.KeyID(pub) }

// AlgorithmFor is the JWS algorithm mandate signs with for a key: RS256 for
// RSA, ES256/ES384/ES512 for P-256/P-384/P-521, EdDSA for Ed25519.
func AlgorithmFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA key of %d bits is too small (want 2048 or more)", k.N.BitLen())
		}
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", errors.New("unsupported elliptic curve")
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("unsupported key type %T", pub)
}

// JWKS returns the JSON Web Key Set holding pub, with use "sig", its
// algorithm and kid (KeyID(pub) when kid is empty).
func JWKS(pub crypto.PublicKey, kid string) ([]byte, error) {
	alg, err := AlgorithmFor(pub)
	if err != nil {
		return nil, err
	}
	if kid == "" {
		if kid, err = KeyID(pub); err != nil {
			return nil, err
		}
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}}}
	return json.MarshalIndent(set, "", "  ")
}

// signerFor wraps key in a go-jose signer with kid and the JWT type.
func signerFor(key crypto.Signer, kid string) (jose.Signer, error) {
	alg, err := AlgorithmFor(key.Public())
	if err != nil {
		return nil, err
	}
	if kid == "" {
		if kid, err = KeyID(key.Public()); err != nil {
			return nil, err
		}
	}
	var k any
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		k = key
	default:
		k = cryptosigner.Opaque(key)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	return jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(alg),
		Key:       jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: alg},
	}, opts)
}

// IssueToken mints a signed JWT for quickstarts and tests: iss, sub, aud,
// iat, nbf (both now), exp (now + ttl), a random jti, and extra claims (which
// may not override those). kid defaults to KeyID of the public key.
func IssueToken(key crypto.Signer, kid, issuer, subject, audience string, ttl time.Duration, extra map[string]any) (string, error) {
	if issuer == "" || subject == "" || audience == "" {
		return "", errors.New("issuing token: issuer, subject and audience are required")
	}
	if ttl <= 0 {
		return "", errors.New("issuing token: ttl must be positive")
	}
	sig, err := signerFor(key, kid)
	if err != nil {
		return "", fmt.Errorf("issuing token: %w", err)
	}
	now := time.Now()
	claims := map[string]any{}
	for k, v := range extra {
		claims[k] = v
	}
	for k, v := range map[string]any{
		"iss": issuer, "sub": subject, "aud": audience, "jti": randomID(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
	} {
		if _, ok := extra[k]; ok {
			return "", fmt.Errorf("issuing token: claim %q is set by the issuer, not by extra claims", k)
		}
		claims[k] = v
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("issuing token: signing: %w", err)
	}
	return tok, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParsePrivateKeyPEM reads a PEM private key (PKCS#8, SEC 1 "EC PRIVATE
// KEY" or PKCS#1 "RSA PRIVATE KEY").
func ParsePrivateKeyPEM(b []byte) (crypto.Signer, error) { return pemkey.ParsePrivate(b) }

// ParsePublicKeyPEM reads a PEM public key (PKIX "PUBLIC KEY" or PKCS #1
// "RSA PUBLIC KEY").
func ParsePublicKeyPEM(b []byte) (crypto.PublicKey, error) { return pemkey.ParsePublic(b) }
