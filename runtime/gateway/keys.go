package gateway

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mandatehq/mandate/runtime/activation"
	"github.com/mandatehq/mandate/runtime/config"
	"github.com/mandatehq/mandate/runtime/identity"
)

// SessionIssuerURL is the iss of the gateway's own session tokens.
const SessionIssuerURL = "urn:mandate:gateway"

// sessionKeyFile holds the session token signing key under the state
// directory; it is created on first start.
const sessionKeyFile = "session.key"

// readKeys reads the bundle verification keys (files or inline PEM) by key
// id; a key without an id gets the id derived from it.
func readKeys(cfg *config.Config) (map[string][]byte, error) {
	pems := map[string][]byte{}
	for kid, v := range cfg.Bundle.Keys {
		if strings.Contains(v, "-----BEGIN") {
			pems[kid] = []byte(v)
			continue
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("reading bundle verification key %s: %w", v, err)
		}
		pems[kid] = b
	}
	keys, err := activation.KeysByID(pems)
	if err != nil {
		return nil, fmt.Errorf("reading bundle verification keys: %w", err)
	}
	return keys, nil
}

// sessionKey loads or creates the P-256 key that signs session tokens.
func sessionKey(stateDir string) (*ecdsa.PrivateKey, error) {
	path := filepath.Join(stateDir, sessionKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := identity.ParsePrivateKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("reading session key %s: %w", path, err)
		}
		k, ok := s.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("reading session key %s: not an ECDSA key", path)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading session key: %w", err)
	}
	k, err := identity.GenerateSessionKey()
	if err != nil {
		return nil, fmt.Errorf("generating session key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encoding session key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("writing session key: %w", err)
	}
	return k, nil
}

// Check verifies what `mandate serve --check` can without serving: the
// verification keys parse, the tls block's certificate loads, and the
// issuers' JWKS files are readable.
func Check(cfg *config.Config) error {
	var errs []error
	if _, err := readKeys(cfg); err != nil {
		errs = append(errs, err)
	}
	if t := cfg.TLS; t != nil {
		if _, err := loadCert(t.Cert, t.Key); err != nil {
			errs = append(errs, err)
		}
	}
	for _, is := range cfg.Issuers {
		ic := identity.IssuerConfig{Name: is.Name, URL: is.URL, Audience: is.Audience, JWKSFile: is.JWKSFile}
		if err := ic.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("issuer %q: %w", is.Name, err))
		}
		if is.JWKSFile != "" {
			if _, err := os.ReadFile(is.JWKSFile); err != nil {
				errs = append(errs, fmt.Errorf("issuer %q: reading jwks_file: %w", is.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
