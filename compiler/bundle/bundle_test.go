package bundle

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/util"
)

func TestBuildLoadRoundTrip(t *testing.T) {
	for _, name := range []string{"es", "rs"} {
		t.Run(name, func(t *testing.T) {
			k := keys(t)[name]
			raw := signedBytes(t, k)
			l, err := Load(bytes.NewReader(raw), map[string][]byte{kid(t, k.pub): k.pub}, LoadOptions{})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if l.Revision != "0123456789abcdef0123456789abcdef01234567" || l.KeyID != kid(t, k.pub) {
				t.Errorf("revision %q key %q", l.Revision, l.KeyID)
			}
			if !l.CommitTime.Equal(testCommitTime) {
				t.Errorf("commit time %v", l.CommitTime)
			}
			if diff := cmp.Diff(fixturePolicy(t), l.Policy); diff != "" {
				t.Errorf("policy differs (-want +got):\n%s", diff)
			}
			var paths []string
			for _, f := range l.Files {
				paths = append(paths, f.Path)
			}
			want := []string{".manifest", ".signatures.json", "mandate/data.json", "mandate/lib.rego", "mandate/postgres.rego", "mandate/session.rego", "mandate/ssh.rego"}
			if diff := cmp.Diff(want, paths); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if len(l.Modules) != 4 {
				t.Errorf("got %d modules", len(l.Modules))
			}
		})
	}
}

func TestBuildIsReproducible(t *testing.T) {
	build := func() []byte {
		b, err := Build(fixturePolicy(t), Options{Revision: "abc", CommitTime: testCommitTime})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := b.Write(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b := build(), build()
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same policy differ")
	}
	// RS256 (PKCS #1 v1.5) signatures are deterministic too: the whole
	// signed tar.gz is reproducible.
	k := keys(t)["rs"]
	if !bytes.Equal(signedBytes(t, k), signedBytes(t, k)) {
		t.Fatal("two RS256-signed builds differ")
	}
}

func TestBundleCarriesNoSecrets(t *testing.T) {
	b, err := Build(fixturePolicy(t), Options{Revision: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	data := string(b.File(DataPath))
	for _, want := range []string{`"password":{"kind":"env","name":"ORDERS_DB_PASSWORD"}`, `"private_key":{"kind":"file","name":"keys/deploy_ed25519"}`} {
		if !strings.Contains(data, want) {
			t.Errorf("data.json lacks the reference %s", want)
		}
	}
}

func TestKeyID(t *testing.T) {
	for _, name := range []string{"es", "rs"} {
		k := keys(t)[name]
		id := kid(t, k.pub)
		if id2 := kid(t, k.priv); id2 != id {
			t.Errorf("%s: key id of private %q != public %q", name, id2, id)
		}
		if len(id) != 16 {
			t.Errorf("%s: key id %q is not 16 characters", name, id)
		}
	}
	if kid(t, keys(t)["es"].pub) == kid(t, keys(t)["other"].pub) {
		t.Error("two keys share an id")
	}
	if _, _, err := GenerateKey("HS256"); err == nil {
		t.Error("GenerateKey accepted HS256")
	}
}

// TestFileHashMatchesOPA holds fileHash equal to OPA's own hasher, which the
// verifier uses, on the fixture and on strings encoding/json treats
// specially.
func TestFileHashMatchesOPA(t *testing.T) {
	b, err := Build(fixturePolicy(t), Options{Revision: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	files := append([]File{}, b.Files...)
	files = append(files,
		File{Path: "x/data.json", Data: []byte(`{"b":"<a&b> é \u2028 \u0001 \"q\" \\ /","a":[1,1.50,-2e3,true,null,{}],"c":{"z":1,"y":[]}}`)},
		File{Path: "y/data.json", Data: []byte("[\"\xff invalid utf-8\", 12345678901234567890]")},
		File{Path: "z/file.rego", Data: []byte("package z\n")},
	)
	hasher, err := opabundle.NewSignatureHasher(opabundle.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		var v any = f.Data
		if opabundle.IsStructuredDoc(f.Path) {
			if err := util.Unmarshal(f.Data, &v); err != nil {
				t.Fatal(err)
			}
		}
		want, err := hasher.HashFile(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fileHash(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: hash %x, OPA's %x", f.Path, got, want)
		}
	}
}
