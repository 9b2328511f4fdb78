package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/mandatehq/mandate/model"
)

// DefaultMaxBytes bounds a bundle's compressed size and, separately, the
// total size of its unpacked files.
const DefaultMaxBytes = 128 << 20

// LoadOptions says how to read a bundle.
type LoadOptions struct {
	// MaxBytes bounds the compressed bundle and the sum of its unpacked
	// files; 0 means DefaultMaxBytes.
	MaxBytes int64
}

// Loaded is a verified bundle.
type Loaded struct {
	Revision string
	// CommitTime is the policy commit's time from the manifest metadata;
	// zero when the bundle carries none.
	CommitTime    time.Time
	SchemaVersion int
	// KeyID is the id of the key whose signature verified.
	KeyID string
	// Files lists every file with its size and SHA-256, sorted by path.
	Files []FileSummary
	// Policy is the compiled model at data.mandate.
	Policy *model.Policy
	// Modules are the parsed Rego modules keyed by path, and Data the bundle
	// data tree ({"mandate": ...}) as an OPA value, decoded once; the
	// decision engine is built from them. Callers must not modify them.
	Modules map[string]*ast.Module
	Data    ast.Object
	// Digest is the SHA-256 of the bundle's bytes, hex.
	Digest string
}

// FileSummary describes one file of a loaded bundle.
type FileSummary struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Load reads a bundle from r and verifies it against keys (key id -> PEM
// public key): it must be signed by one of them, every file must match the
// signature, no file may be missing or extra, the only root must be
// "mandate", and the schema version must be the one this build understands.
// A rejection wraps one of the classes ErrUnsigned, ErrWrongKey,
// ErrOversized, ErrTruncated, ErrWrongScope or ErrTampered, or none (see the
// package doc).
func Load(r io.Reader, keys map[string][]byte, opts LoadOptions) (*Loaded, error) {
	max := opts.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	if len(keys) == 0 {
		return nil, errors.New("verifying bundle: no verification keys")
	}
	raw, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading bundle: %w", err)
	}
	if int64(len(raw)) > max {
		return nil, rejectf(ErrOversized, "reading bundle: larger than the limit of %d bytes", max)
	}
	entries, err := readEntries(raw, max)
	if err != nil {
		return nil, err
	}
	if err := checkLayout(entries); err != nil {
		return nil, err
	}
	keyID, err := signatureKeyID(entries[SignaturesPath])
	if err != nil {
		return nil, err
	}
	configs := make(map[string]*opabundle.KeyConfig, len(keys))
	for id, pemData := range keys {
		_, alg, err := ParsePublicKey(pemData)
		if err != nil {
			return nil, fmt.Errorf("reading verification key %s: %w", id, err)
		}
		configs[id] = &opabundle.KeyConfig{Key: string(pemData), Algorithm: alg}
	}
	if _, ok := configs[keyID]; !ok {
		return nil, rejectf(ErrWrongKey, "verifying bundle: signed by key %q, which is not a configured verification key", keyID)
	}
	// Decode the model while the files are verified: the two biggest steps
	// of activating a large bundle run on two cores. The goroutine only
	// reads entries and sends once on a buffered channel, so it ends even
	// when verification fails first.
	policy := make(chan decodedPolicy, 1)
	go func() {
		var d decodedPolicy
		d.err = json.Unmarshal(entries[DataPath], &d.policy)
		policy <- d
	}()
	data, err := verifyFiles(entries, opabundle.NewVerificationConfig(configs, "", "", nil))
	if err != nil {
		return nil, err
	}
	return finish(entries, data, <-policy, keyID, raw)
}

type decodedPolicy struct {
	policy model.Policy
	err    error
}

// verifyFiles checks the signature with OPA's verifier (the JWT, its key and
// algorithm, its scope) and then every file against the digests it signs:
// none may be missing, extra or different. It returns the decoded data.json,
// decoded once for both its digest and the decision engine.
func verifyFiles(entries map[string][]byte, vc *opabundle.VerificationConfig) (ast.Value, error) {
	var sc opabundle.SignaturesConfig
	if err := json.Unmarshal(entries[SignaturesPath], &sc); err != nil {
		return nil, rejectf(ErrTampered, "verifying bundle: decoding .signatures.json: %w", err)
	}
	signed, err := opabundle.VerifyBundleSignature(sc, vc)
	if err != nil {
		return nil, rejectf(ErrTampered, "verifying bundle: %w", err)
	}
	var data ast.Value
	for name, content := range entries {
		if name == SignaturesPath {
			continue
		}
		fi, ok := signed[name]
		if !ok {
			return nil, rejectf(ErrTampered, "verifying bundle: file %s is not included in the bundle signature", name)
		}
		delete(signed, name)
		if fi.Algorithm != string(opabundle.SHA256) {
			return nil, fmt.Errorf("verifying bundle: file %s is hashed with %q, want SHA-256", name, fi.Algorithm)
		}
		if name == DataPath {
			if data, err = verifyData(content, fi.Hash); err != nil {
				return nil, err
			}
			continue
		}
		sum, _, err := fileHashValue(File{Path: name, Data: content})
		if err != nil {
			// A structured file that does not parse cannot match the
			// digest of a parsed document: it was changed.
			return nil, rejectf(ErrTampered, "verifying bundle: %w", err)
		}
		if hex.EncodeToString(sum) != fi.Hash {
			return nil, rejectf(ErrTampered, "verifying bundle: %s: digest mismatch", name)
		}
	}
	if len(signed) > 0 {
		missing := make([]string, 0, len(signed))
		for name := range signed {
			missing = append(missing, name)
		}
		sort.Strings(missing)
		return nil, rejectf(ErrTampered, "verifying bundle: file(s) %s signed but not found in the bundle", strings.Join(missing, ", "))
	}
	return data, nil
}

// verifyData checks data.json against its signed digest and decodes it into
// an AST value. Bundles built by this package hold data.json in the
// canonical form the digest is computed over (plus one newline), so hashing
// the bytes suffices; any other encoding is decoded and re-encoded, as OPA
// does, before comparing.
func verifyData(content []byte, want string) (ast.Value, error) {
	sum := sha256.Sum256(bytes.TrimSuffix(content, []byte("\n")))
	if hex.EncodeToString(sum[:]) == want {
		v, err := parseJSONValue(content)
		if err != nil {
			return nil, fmt.Errorf("verifying bundle: decoding %s: %w", DataPath, err)
		}
		return v, nil
	}
	slow, doc, err := fileHashValue(File{Path: DataPath, Data: content})
	if err != nil {
		// Not the signed bytes and not JSON either: it cannot match.
		return nil, rejectf(ErrTampered, "verifying bundle: %w", err)
	}
	if hex.EncodeToString(slow) != want {
		return nil, rejectf(ErrTampered, "verifying bundle: %s: digest mismatch", DataPath)
	}
	v, err := ast.InterfaceToValue(doc)
	if err != nil {
		return nil, fmt.Errorf("verifying bundle: converting %s: %w", DataPath, err)
	}
	return v, nil
}

// readEntries unpacks the tar.gz, bounded by max unpacked bytes, accepting
// regular files only, each once.
func readEntries(raw []byte, max int64) (map[string][]byte, error) {
	gz, err := gzipReader(raw)
	if err != nil {
		return nil, err
	}
	entries := map[string][]byte{}
	var total int64
	tr := newTarReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, rejectf(ErrTruncated, "reading bundle archive: %w", err)
		}
		name := strings.TrimPrefix(hdr.Name, "/")
		if isDir(hdr) {
			continue // tar tools add directory entries; they carry nothing
		}
		if !isRegular(hdr) {
			return nil, rejectf(ErrTruncated, "reading bundle archive: %s is not a regular file", name)
		}
		if hdr.Size < 0 || total+hdr.Size > max {
			return nil, rejectf(ErrOversized, "reading bundle archive: unpacked size exceeds the limit of %d bytes", max)
		}
		data, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
		if err != nil {
			return nil, rejectf(ErrTruncated, "reading bundle archive entry %s: %w", name, err)
		}
		if int64(len(data)) != hdr.Size {
			return nil, rejectf(ErrTruncated, "reading bundle archive entry %s: truncated", name)
		}
		total += hdr.Size
		if _, dup := entries[name]; dup {
			return nil, rejectf(ErrTruncated, "reading bundle archive: %s appears twice", name)
		}
		entries[name] = data
	}
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, rejectf(ErrTruncated, "reading bundle archive: %w", err)
	}
	return entries, nil
}

// checkLayout accepts exactly: .manifest, .signatures.json,
// mandate/data.json and mandate/*.rego (at least one).
func checkLayout(entries map[string][]byte) error {
	if _, ok := entries[SignaturesPath]; !ok {
		return rejectf(ErrUnsigned, "verifying bundle: unsigned (no .signatures.json)")
	}
	for _, want := range []string{ManifestPath, DataPath} {
		if _, ok := entries[want]; !ok {
			return rejectf(ErrTampered, "verifying bundle: missing file %s", want)
		}
	}
	rego := 0
	for name := range entries {
		switch {
		case name == ManifestPath || name == SignaturesPath || name == DataPath:
		case strings.HasPrefix(name, model.Root+"/") && strings.HasSuffix(name, ".rego") &&
			!strings.Contains(strings.TrimPrefix(name, model.Root+"/"), "/"):
			rego++
		default:
			return rejectf(ErrWrongScope, "verifying bundle: unexpected file %s", name)
		}
	}
	if rego == 0 {
		return errors.New("verifying bundle: no Rego modules")
	}
	return nil
}

// signatureKeyID reads the kid from the header of the one JWT in
// .signatures.json (the signature itself is checked by OPA's verifier).
func signatureKeyID(data []byte) (string, error) {
	var sc opabundle.SignaturesConfig
	if err := json.Unmarshal(data, &sc); err != nil {
		return "", rejectf(ErrTampered, "verifying bundle: decoding .signatures.json: %w", err)
	}
	if len(sc.Signatures) != 1 {
		return "", rejectf(ErrTampered, "verifying bundle: .signatures.json holds %d signatures, want exactly one", len(sc.Signatures))
	}
	if sc.Plugin != "" {
		return "", rejectf(ErrTampered, "verifying bundle: signature plugin %q is not supported", sc.Plugin)
	}
	head, _, ok := strings.Cut(sc.Signatures[0], ".")
	if !ok {
		return "", rejectf(ErrTampered, "verifying bundle: malformed signature")
	}
	hb, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", rejectf(ErrTampered, "verifying bundle: decoding signature header: %w", err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return "", rejectf(ErrTampered, "verifying bundle: decoding signature header: %w", err)
	}
	if h.Kid == "" {
		return "", rejectf(ErrWrongKey, "verifying bundle: signature names no key id")
	}
	return h.Kid, nil
}

func finish(entries map[string][]byte, data ast.Value, decoded decodedPolicy, keyID string, raw []byte) (*Loaded, error) {
	var m opabundle.Manifest
	if err := util.UnmarshalJSON(entries[ManifestPath], &m); err != nil {
		return nil, fmt.Errorf("verifying bundle: decoding manifest: %w", err)
	}
	if m.Roots == nil || len(*m.Roots) != 1 || (*m.Roots)[0] != model.Root {
		return nil, rejectf(ErrWrongScope, "verifying bundle: roots must be exactly [%q]", model.Root)
	}
	if m.Revision == "" {
		return nil, errors.New("verifying bundle: manifest has no revision")
	}
	if m.RegoVersion != nil && *m.RegoVersion != 1 {
		return nil, fmt.Errorf("verifying bundle: rego_version %d, want 1", *m.RegoVersion)
	}
	var meta manifestMetadata
	if err := remarshal(m.Metadata, &meta); err != nil {
		return nil, fmt.Errorf("verifying bundle: decoding manifest metadata: %w", err)
	}
	if meta.SchemaVersion != model.SchemaVersion {
		return nil, fmt.Errorf("verifying bundle: schema version %d, this build reads %d", meta.SchemaVersion, model.SchemaVersion)
	}
	var commitTime time.Time
	if meta.CommitTime != "" {
		t, err := time.Parse(time.RFC3339, meta.CommitTime)
		if err != nil {
			return nil, fmt.Errorf("verifying bundle: manifest commit_time: %w", err)
		}
		commitTime = t
	}
	if decoded.err != nil {
		return nil, fmt.Errorf("verifying bundle: decoding %s: %w", DataPath, decoded.err)
	}
	p := decoded.policy
	if p.SchemaVersion != model.SchemaVersion {
		return nil, fmt.Errorf("verifying bundle: data schema version %d, this build reads %d", p.SchemaVersion, model.SchemaVersion)
	}
	if _, ok := data.(ast.Object); !ok {
		return nil, fmt.Errorf("verifying bundle: %s is not an object", DataPath)
	}
	l := &Loaded{
		Revision:      m.Revision,
		CommitTime:    commitTime,
		SchemaVersion: meta.SchemaVersion,
		KeyID:         keyID,
		Policy:        &p,
		Modules:       map[string]*ast.Module{},
		Data:          ast.NewObject(ast.Item(ast.StringTerm(model.Root), ast.NewTerm(data))),
	}
	root := ast.DefaultRootRef.Append(ast.StringTerm(model.Root))
	for name, content := range entries {
		sum := sha256.Sum256(content)
		l.Files = append(l.Files, FileSummary{Path: name, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])})
		if !strings.HasSuffix(name, ".rego") {
			continue
		}
		mod, err := ast.ParseModuleWithOpts("/"+name, string(content), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("verifying bundle: parsing %s: %w", name, err)
		}
		if !mod.Package.Path.HasPrefix(root) {
			return nil, rejectf(ErrWrongScope, "verifying bundle: %s declares package %s, outside the %q root", name, mod.Package.Path, model.Root)
		}
		l.Modules[name] = mod
	}
	sortFiles(l.Files)
	d := sha256.Sum256(raw)
	l.Digest = hex.EncodeToString(d[:])
	return l, nil
}

func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
