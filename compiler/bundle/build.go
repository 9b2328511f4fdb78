package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/policies"
)

// Paths of the files inside a bundle.
const (
	ManifestPath   = ".manifest"
	SignaturesPath = ".signatures.json"
	DataPath       = model.Root + "/data.json"
)

// Options says how to build a bundle.
type Options struct {
	// Revision is the manifest revision, normally from Revision. Required.
	Revision string
	// CommitTime is the policy commit's time, written to the manifest
	// metadata (RFC 3339, UTC). The zero time is written as empty.
	CommitTime time.Time
	// SigningKey is a PEM private key (ES256 or RS256). Nil builds an
	// unsigned bundle, which Load rejects; useful only for tests.
	SigningKey []byte
	// KeyID names the signing key; defaults to KeyID of its public key.
	KeyID string
}

// Bundle is a built bundle: its files in the order they are written.
type Bundle struct {
	Revision string
	// KeyID is the id of the signing key, empty when unsigned.
	KeyID string
	// Files are sorted by path; .signatures.json is among them when signed.
	Files []File
	// digests holds SHA-256 digests already known by path (data.json's,
	// computed when it was canonicalized), so signing need not decode it.
	digests map[string][]byte
}

// File is one file of a bundle.
type File struct {
	Path string
	Data []byte
}

// manifest is the .manifest file; field order and content are fixed so the
// bytes are reproducible.
type manifest struct {
	Revision    string           `json:"revision"`
	Roots       []string         `json:"roots"`
	RegoVersion int              `json:"rego_version"`
	Metadata    manifestMetadata `json:"metadata"`
}

type manifestMetadata struct {
	CommitTime    string `json:"commit_time"`
	SchemaVersion int    `json:"schema_version"`
}

// Build compiles p and the Rego library into a bundle and signs it when
// opts.SigningKey is set. The unsigned files depend only on p and opts.
func Build(p *model.Policy, opts Options) (*Bundle, error) {
	if p == nil {
		return nil, errors.New("building bundle: no policy")
	}
	if opts.Revision == "" {
		return nil, errors.New("building bundle: empty revision")
	}
	commitTime := ""
	if !opts.CommitTime.IsZero() {
		commitTime = opts.CommitTime.UTC().Format(time.RFC3339)
	}
	m, err := json.MarshalIndent(manifest{
		Revision:    opts.Revision,
		Roots:       []string{model.Root},
		RegoVersion: 1,
		Metadata:    manifestMetadata{CommitTime: commitTime, SchemaVersion: model.SchemaVersion},
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding policy data: %w", err)
	}
	// Written in the canonical form its signed digest is computed over, so
	// Load verifies it by hashing the bytes, without decoding and
	// re-encoding the whole document.
	if data, err = canonicalJSON(data); err != nil {
		return nil, fmt.Errorf("encoding policy data: %w", err)
	}
	files := []File{
		{Path: ManifestPath, Data: append(m, '\n')},
		{Path: DataPath, Data: append(data, '\n')},
	}
	for _, f := range policies.Files() {
		files = append(files, File{Path: f.Path, Data: f.Data})
	}
	sum := sha256.Sum256(data)
	b := &Bundle{Revision: opts.Revision, Files: files, digests: map[string][]byte{DataPath: sum[:]}}
	if opts.SigningKey != nil {
		if err := b.sign(opts.SigningKey, opts.KeyID); err != nil {
			return nil, err
		}
	}
	sort.Slice(b.Files, func(i, j int) bool { return b.Files[i].Path < b.Files[j].Path })
	return b, nil
}

// sign adds .signatures.json: one JWT whose "files" claim lists every file
// with its SHA-256 digest as OPA computes it (JSON files hashed in canonical
// form), signed by key with kid = keyID.
func (b *Bundle) sign(keyPEM []byte, keyID string) error {
	signer, alg, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return fmt.Errorf("reading signing key: %w", err)
	}
	if keyID == "" {
		if keyID, err = KeyID(signer.Public()); err != nil {
			return err
		}
	}
	infos, err := fileInfos(b.Files, b.digests)
	if err != nil {
		return err
	}
	token, err := opabundle.GenerateSignedToken(infos, opabundle.NewSigningConfig(string(keyPEM), alg, ""), keyID)
	if err != nil {
		return fmt.Errorf("signing bundle: %w", err)
	}
	sig, err := json.MarshalIndent(opabundle.SignaturesConfig{Signatures: []string{token}}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding signatures: %w", err)
	}
	b.Files = append(b.Files, File{Path: SignaturesPath, Data: append(sig, '\n')})
	b.KeyID = keyID
	return nil
}

func fileInfos(files []File, known map[string][]byte) ([]opabundle.FileInfo, error) {
	infos := make([]opabundle.FileInfo, 0, len(files))
	for _, f := range files {
		sum, ok := known[f.Path]
		if !ok {
			var err error
			if sum, err = fileHash(f); err != nil {
				return nil, err
			}
		}
		infos = append(infos, opabundle.NewFile(f.Path, hex.EncodeToString(sum), string(opabundle.SHA256)))
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos, nil
}

// fileHash is the SHA-256 digest OPA's verifier computes for f: of the
// bytes for plain files, and for JSON documents of their canonical encoding
// (compact, object keys sorted, numbers as written, no HTML escaping), which
// is exactly what encoding/json writes for the decoded value. One encoder
// pass over the whole document is much faster than OPA's per-value walk;
// TestFileHashMatchesOPA holds the two equal.
func fileHash(f File) ([]byte, error) {
	sum, _, err := fileHashValue(f)
	return sum, err
}

// fileHashValue is fileHash that also returns the decoded JSON document
// (nil for plain files).
func fileHashValue(f File) ([]byte, any, error) {
	h := sha256.New()
	if !opabundle.IsStructuredDoc(f.Path) {
		h.Write(f.Data)
		return h.Sum(nil), nil, nil
	}
	var v any
	if err := util.Unmarshal(f.Data, &v); err != nil {
		return nil, nil, fmt.Errorf("hashing %s: %w", f.Path, err)
	}
	enc := json.NewEncoder(trimNewline{h})
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, nil, fmt.Errorf("hashing %s: %w", f.Path, err)
	}
	return h.Sum(nil), v, nil
}

// canonicalJSON re-encodes a JSON document in the form OPA hashes it:
// compact, object keys sorted, numbers as written, no HTML escaping.
func canonicalJSON(data []byte) ([]byte, error) {
	var v any
	if err := util.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// trimNewline drops the newline json.Encoder writes after a value (and
// only there: compact JSON holds no other raw newline).
type trimNewline struct{ w io.Writer }

func (t trimNewline) Write(p []byte) (int, error) {
	if n := len(p); n > 0 && p[n-1] == '\n' {
		if _, err := t.w.Write(p[:n-1]); err != nil {
			return 0, err
		}
		return n, nil
	}
	return t.w.Write(p)
}

// Write writes the bundle as a reproducible tar.gz.
func (b *Bundle) Write(w io.Writer) error { return writeTarGz(w, b.Files) }

// File returns the content of the file at path, or nil.
func (b *Bundle) File(path string) []byte {
	for _, f := range b.Files {
		if f.Path == path {
			return f.Data
		}
	}
	return nil
}
