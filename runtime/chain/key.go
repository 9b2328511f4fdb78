package chain

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Key file names in the gateway's state directory.
const (
	PrivateKeyFile = "record.key"
	PublicKeyFile  = "record.pub"
)

// Key is the gateway's record signing key.
type Key struct {
	ID      string
	Private ed25519.PrivateKey
	Public  ed25519.PublicKey
}

// NewKey returns a fresh random key.
func NewKey() (*Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating record key: %w", err)
	}
	return &Key{ID: KeyID(pub), Private: priv, Public: pub}, nil
}

// LoadOrCreateKey reads dir/record.key, or creates it (mode 0600) with its
// public half in dir/record.pub when it does not exist.
func LoadOrCreateKey(dir string) (*Key, error) {
	p := filepath.Join(dir, PrivateKeyFile)
	b, err := os.ReadFile(p)
	if err == nil {
		return ParsePrivateKey(b)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading record key %s: %w", p, err)
	}
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory %s: %w", dir, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("encoding record key: %w", err)
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(p, priv, 0o600); err != nil {
		return nil, fmt.Errorf("writing record key %s: %w", p, err)
	}
	pp := filepath.Join(dir, PublicKeyFile)
	if err := os.WriteFile(pp, MarshalPublicKey(k.Public), 0o644); err != nil {
		return nil, fmt.Errorf("writing record public key %s: %w", pp, err)
	}
	return k, nil
}

// ParsePrivateKey reads a PEM PKCS#8 ed25519 private key.
func ParsePrivateKey(b []byte) (*Key, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("parsing record key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing record key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("parsing record key: not an ed25519 key")
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &Key{ID: KeyID(pub), Private: priv, Public: pub}, nil
}

// MarshalPublicKey encodes pub as a PEM "PUBLIC KEY" (PKIX) block.
func MarshalPublicKey(pub ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub) // cannot fail for ed25519
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKey reads a PEM PKIX ed25519 public key, or the raw 32 bytes
// in standard base64.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("parsing public key: not an ed25519 key")
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("parsing public key: want a PEM PUBLIC KEY block or 32 bytes in base64")
	}
	return ed25519.PublicKey(raw), nil
}
