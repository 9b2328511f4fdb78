package review

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mandatehq/mandate/model"
	"golang.org/x/crypto/ssh"
)

// maxUsageBytes bounds a usage document read from a file or a gateway.
const maxUsageBytes = 256 << 20

// FetchTimeout bounds the request for usage to a gateway.
var FetchTimeout = 2 * time.Minute

// Loaded is usage read from a source, with the bytes committed as evidence.
type Loaded struct {
	Usage *model.Usage
	// Raw is the document as read: the signed export when there is one.
	Raw []byte
	// Signed is set when Raw is a model.SignedUsage.
	Signed *model.SignedUsage
	// Verified is true when the signature was checked against a key.
	Verified bool
}

// ParseUsage reads a usage document: either model.Usage JSON or a signed
// export (model.SignedUsage). When key is not nil the document must be
// signed by it; an unsigned document or a bad signature is an error.
func ParseUsage(data []byte, key ed25519.PublicKey) (*Loaded, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("decoding usage: %w", err)
	}
	l := &Loaded{Raw: data}
	payload := data
	if _, ok := probe["payload"]; ok {
		var s model.SignedUsage
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("decoding signed usage: %w", err)
		}
		if key != nil {
			if !strings.EqualFold(s.Algorithm, "ed25519") && !strings.EqualFold(s.Algorithm, "EdDSA") {
				return nil, fmt.Errorf("verifying usage: unsupported signature algorithm %q", s.Algorithm)
			}
			if !ed25519.Verify(key, s.Payload, s.Signature) {
				return nil, errors.New("verifying usage: the signature does not match the payload and key")
			}
			l.Verified = true
		}
		l.Signed = &s
		payload = s.Payload
	} else if key != nil {
		return nil, errors.New("verifying usage: the document is not signed, but a usage key was given")
	}
	var u model.Usage
	if err := json.Unmarshal(payload, &u); err != nil {
		return nil, fmt.Errorf("decoding usage: %w", err)
	}
	if u.Until.IsZero() || u.Since.IsZero() {
		return nil, errors.New("decoding usage: since and until are required")
	}
	if u.Until.Before(u.Since) {
		return nil, fmt.Errorf("decoding usage: until %s is before since %s", u.Until, u.Since)
	}
	l.Usage = &u
	return l, nil
}

// ParsePublicKey reads an ed25519 public key: PEM ("PUBLIC KEY"), an
// OpenSSH authorized key line, or 32 raw bytes in base64 or hex.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(data); blk != nil {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing usage key: %w", err)
		}
		if ek, ok := k.(ed25519.PublicKey); ok {
			return ek, nil
		}
		return nil, fmt.Errorf("parsing usage key: %T is not an ed25519 key", k)
	}
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, "ssh-ed25519 ") {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("parsing usage key: %w", err)
		}
		if ck, ok := pk.(ssh.CryptoPublicKey); ok {
			if ek, ok := ck.CryptoPublicKey().(ed25519.PublicKey); ok {
				return ek, nil
			}
		}
		return nil, errors.New("parsing usage key: not an ed25519 key")
	}
	for _, dec := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawURLEncoding.DecodeString} {
		if b, err := dec(s); err == nil && len(b) == ed25519.PublicKeySize {
			return ed25519.PublicKey(b), nil
		}
	}
	return nil, errors.New("parsing usage key: want a PEM public key, an ssh-ed25519 line, or 32 bytes in hex or base64")
}

// FetchUsage asks a gateway for the usage since the given time:
// GET {base}/v1/audit/usage?since=RFC3339 with the auditor's bearer token.
func FetchUsage(ctx context.Context, client *http.Client, base, token string, since time.Time) ([]byte, error) {
	u, err := url.Parse(strings.TrimRight(base, "/") + "/v1/audit/usage")
	if err != nil {
		return nil, fmt.Errorf("fetching usage: %w", err)
	}
	q := u.Query()
	q.Set("since", since.UTC().Format(time.RFC3339))
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetching usage: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching usage from %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUsageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetching usage from %s: %w", u.Redacted(), err)
	}
	if len(body) > maxUsageBytes {
		return nil, fmt.Errorf("fetching usage from %s: more than %d bytes", u.Redacted(), maxUsageBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching usage from %s: %s: %s", u.Redacted(), resp.Status, problemDetail(body))
	}
	return body, nil
}

// problemDetail extracts a short message from an HTTP problem JSON body.
func problemDetail(body []byte) string {
	var p struct{ Title, Detail, Message string }
	if json.Unmarshal(body, &p) == nil {
		for _, s := range []string{p.Detail, p.Title, p.Message} {
			if s != "" {
				return s
			}
		}
	}
	body = bytes.TrimSpace(body)
	if len(body) > 200 {
		body = body[:200]
	}
	return string(body)
}
