package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
)

// unpack returns the files of a bundle in path order.
func unpack(t testing.TB, raw []byte) []File {
	t.Helper()
	entries, err := readEntries(raw, DefaultMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	var files []File
	for p, d := range entries {
		files = append(files, File{Path: p, Data: d})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files
}

func pack(t testing.TB, files []File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeTarGz(&buf, files); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// edit applies f to the files of raw (signature kept as it is).
func edit(t testing.TB, raw []byte, f func([]File) []File) []byte {
	return pack(t, f(unpack(t, raw)))
}

// resign applies f to the unsigned files of raw and signs the result with key.
func resign(t testing.TB, raw []byte, key keyPair, f func([]File) []File) []byte {
	t.Helper()
	var files []File
	for _, file := range unpack(t, raw) {
		if file.Path != SignaturesPath {
			files = append(files, file)
		}
	}
	b := &Bundle{Files: f(files)}
	if err := b.sign(key.priv, ""); err != nil {
		t.Fatal(err)
	}
	return pack(t, b.Files)
}

func replaceIn(path, old, new string) func([]File) []File {
	return func(files []File) []File {
		for i := range files {
			if files[i].Path == path {
				files[i].Data = []byte(strings.Replace(string(files[i].Data), old, new, 1))
			}
		}
		return files
	}
}

func drop(path string) func([]File) []File {
	return func(files []File) []File {
		var out []File
		for _, f := range files {
			if f.Path != path {
				out = append(out, f)
			}
		}
		return out
	}
}

func add(path, data string) func([]File) []File {
	return func(files []File) []File { return append(files, File{Path: path, Data: []byte(data)}) }
}

// set replaces the content of the file at path.
func set(path, data string) func([]File) []File {
	return func(files []File) []File {
		for i := range files {
			if files[i].Path == path {
				files[i].Data = []byte(data)
			}
		}
		return files
	}
}

// signatureHeader replaces the JWT header of the signature (payload and
// signature kept) with header, base64url-encoded.
func signatureHeader(t testing.TB, header string) func([]File) []File {
	return func(files []File) []File {
		for i := range files {
			if files[i].Path != SignaturesPath {
				continue
			}
			var sc struct {
				Signatures []string `json:"signatures"`
			}
			if err := json.Unmarshal(files[i].Data, &sc); err != nil || len(sc.Signatures) != 1 {
				t.Fatalf("reading %s: %v", SignaturesPath, err)
			}
			_, rest, _ := strings.Cut(sc.Signatures[0], ".")
			sc.Signatures[0] = base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + rest
			data, err := json.Marshal(sc)
			if err != nil {
				t.Fatal(err)
			}
			files[i].Data = data
		}
		return files
	}
}

// rejectionClasses are the classes a rejection may match.
var rejectionClasses = []error{ErrUnsigned, ErrWrongKey, ErrOversized, ErrTruncated, ErrWrongScope, ErrTampered}

func TestLoadRejects(t *testing.T) {
	ks := keys(t)
	es, other := ks["es"], ks["other"]
	good := signedBytes(t, es)
	trusted := map[string][]byte{kid(t, es.pub): es.pub}
	unsigned, err := Build(fixturePolicy(t), Options{Revision: "abc"})
	if err != nil {
		t.Fatal(err)
	}

	var symlink bytes.Buffer
	gz := gzip.NewWriter(&symlink)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "/.manifest", Linkname: "/etc/passwd"})
	_ = tw.Close()
	_ = gz.Close()

	corrupt := append([]byte{}, good...)
	corrupt[len(corrupt)/2] ^= 0xff

	// class is the rejection class errors.Is must report, nil for none.
	tests := []struct {
		name    string
		raw     []byte
		keys    map[string][]byte
		opts    LoadOptions
		wantErr string
		class   error
	}{
		{name: "unsigned", raw: pack(t, unsigned.Files), wantErr: "unsigned", class: ErrUnsigned},
		{name: "tampered data", raw: edit(t, good, replaceIn(DataPath, `"select"`, `"delete"`)), wantErr: "digest mismatch", class: ErrTampered},
		{name: "tampered data not JSON", raw: edit(t, good, replaceIn(DataPath, `{`, `{{`)), wantErr: "hashing mandate/data.json", class: ErrTampered},
		{name: "tampered rego", raw: edit(t, good, replaceIn("mandate/postgres.rego", `"deny"`, `"allow"`)), wantErr: "digest mismatch", class: ErrTampered},
		{name: "tampered manifest", raw: edit(t, good, replaceIn(ManifestPath, "0123", "9999")), wantErr: "digest mismatch", class: ErrTampered},
		{name: "tampered signature", raw: edit(t, good, replaceIn(SignaturesPath, ".", ".e30")), wantErr: "verifying bundle", class: ErrTampered},
		{name: "malformed signature", raw: edit(t, good, set(SignaturesPath, `{"signatures":["x"]}`)), wantErr: "malformed signature", class: ErrTampered},
		{name: "signature not JSON", raw: edit(t, good, set(SignaturesPath, `[`)), wantErr: "decoding .signatures.json", class: ErrTampered},
		{name: "two signatures", raw: edit(t, good, set(SignaturesPath, `{"signatures":["a.b.c","a.b.c"]}`)), wantErr: "holds 2 signatures", class: ErrTampered},
		{name: "signature header not JSON", raw: edit(t, good, signatureHeader(t, `{`)), wantErr: "decoding signature header", class: ErrTampered},
		{name: "signature names no key id", raw: edit(t, good, signatureHeader(t, `{"alg":"ES256"}`)), wantErr: "signature names no key id", class: ErrWrongKey},
		{name: "unknown key", raw: good, keys: map[string][]byte{kid(t, other.pub): other.pub}, wantErr: "not a configured verification key", class: ErrWrongKey},
		{name: "wrong key under the signing id", raw: good, keys: map[string][]byte{kid(t, es.pub): other.pub}, wantErr: "failed to verify JWT signature", class: ErrTampered},
		{name: "signed by an untrusted key", raw: signedBytes(t, other), wantErr: "not a configured verification key", class: ErrWrongKey},
		{name: "missing file", raw: edit(t, good, drop("mandate/ssh.rego")), wantErr: "signed but not found in the bundle", class: ErrTampered},
		{name: "missing data", raw: edit(t, good, drop(DataPath)), wantErr: "missing file mandate/data.json", class: ErrTampered},
		{name: "missing manifest", raw: edit(t, good, drop(ManifestPath)), wantErr: "missing file .manifest", class: ErrTampered},
		{name: "extra rego", raw: edit(t, good, add("mandate/extra.rego", "package mandate.extra\n")), wantErr: "not included in the bundle signature", class: ErrTampered},
		{name: "extra file", raw: edit(t, good, add("README.md", "hi")), wantErr: "unexpected file README.md", class: ErrWrongScope},
		{name: "extra signed file", raw: resign(t, good, es, add("other/data.json", "{}")), wantErr: "unexpected file other/data.json", class: ErrWrongScope},
		{name: "wrong root", raw: resign(t, good, es, replaceIn(ManifestPath, `"mandate"`, `"other"`)), wantErr: "roots", class: ErrWrongScope},
		{name: "two roots", raw: resign(t, good, es, replaceIn(ManifestPath, `"mandate"`, `"mandate", "x"`)), wantErr: "roots must be exactly", class: ErrWrongScope},
		{name: "package outside the root", raw: resign(t, good, es, add("mandate/evil.rego", "package other\n\nallow := true\n")), wantErr: "outside the \"mandate\" root", class: ErrWrongScope},
		{name: "schema version", raw: resign(t, good, es, replaceIn(ManifestPath, `"schema_version": 1`, `"schema_version": 99`)), wantErr: "schema version 99"},
		{name: "rego version 0", raw: resign(t, good, es, replaceIn(ManifestPath, `"rego_version": 1`, `"rego_version": 0`)), wantErr: "rego_version 0"},
		{name: "no revision", raw: resign(t, good, es, replaceIn(ManifestPath, `"0123456789abcdef0123456789abcdef01234567"`, `""`)), wantErr: "no revision"},
		{name: "rego syntax error", raw: resign(t, good, es, add("mandate/bad.rego", "package mandate.bad\n\nallow if {\n")), wantErr: "parsing mandate/bad.rego"},
		{name: "truncated", raw: good[:len(good)/2], wantErr: "unexpected EOF", class: ErrTruncated},
		{name: "gzip header cut short", raw: good[:5], wantErr: "reading bundle archive: unexpected EOF", class: ErrTruncated},
		{name: "corrupt gzip stream", raw: corrupt, wantErr: "reading bundle archive", class: ErrTruncated},
		{name: "trailing garbage", raw: append(append([]byte{}, good...), "garbage"...), wantErr: "reading bundle archive", class: ErrTruncated},
		{name: "oversized", raw: good, opts: LoadOptions{MaxBytes: 1000}, wantErr: "larger than the limit", class: ErrOversized},
		{name: "unpacked oversized", raw: good, opts: LoadOptions{MaxBytes: int64(len(good)) + 10}, wantErr: "unpacked size exceeds", class: ErrOversized},
		{name: "garbage", raw: []byte("not a bundle"), wantErr: "reading bundle archive", class: ErrTruncated},
		{name: "empty", raw: nil, wantErr: "reading bundle archive", class: ErrTruncated},
		{name: "symlink", raw: symlink.Bytes(), wantErr: "not a regular file", class: ErrTruncated},
		{name: "duplicate entry", raw: pack(t, append(unpack(t, good), File{Path: DataPath, Data: []byte("{}")})), wantErr: "appears twice", class: ErrTruncated},
		{name: "no keys", raw: good, keys: map[string][]byte{}, wantErr: "no verification keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := tt.keys
			if keys == nil {
				keys = trusted
			}
			l, err := Load(bytes.NewReader(tt.raw), keys, tt.opts)
			if err == nil {
				t.Fatalf("Load accepted the bundle (revision %s)", l.Revision)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			for _, class := range rejectionClasses {
				if got, want := errors.Is(err, class), class == tt.class; got != want {
					t.Errorf("errors.Is(%q, %q) = %v, want %v", err, class, got, want)
				}
			}
		})
	}
	if _, err := Load(bytes.NewReader(good), trusted, LoadOptions{}); err != nil {
		t.Fatalf("the untouched bundle is rejected: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	priv, pub, err := GenerateKey(ES256)
	if err != nil {
		f.Fatal(err)
	}
	es := keyPair{priv, pub}
	good := signedBytes(f, es)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("not a bundle"))
	trusted := map[string][]byte{kid(f, es.pub): es.pub}
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := Load(bytes.NewReader(raw), trusted, LoadOptions{MaxBytes: 1 << 20})
		if err == nil && l.Policy == nil {
			t.Fatal("loaded bundle without policy")
		}
	})
}
