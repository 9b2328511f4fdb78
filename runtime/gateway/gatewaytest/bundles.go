package gatewaytest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
)

// Signer is a bundle signing key pair.
type Signer struct {
	Private, Public []byte // PEM
	KeyID           string
}

// NewSigner generates an ES256 key pair.
func NewSigner(t testing.TB) *Signer {
	t.Helper()
	priv, pub, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := bundle.KeyIDFromPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{Private: priv, Public: pub, KeyID: kid}
}

// WritePublic writes the public key to dir/name and returns its path.
func (s *Signer) WritePublic(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, s.Public, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Bundle builds and signs a bundle of p as a tar.gz.
func (s *Signer) Bundle(t testing.TB, p *model.Policy, revision string, commit time.Time) []byte {
	t.Helper()
	return write(t, build(t, p, bundle.Options{Revision: revision, CommitTime: commit, SigningKey: s.Private}))
}

// Unsigned builds a bundle of p without a signature.
func Unsigned(t testing.TB, p *model.Policy, revision string, commit time.Time) []byte {
	t.Helper()
	return write(t, build(t, p, bundle.Options{Revision: revision, CommitTime: commit}))
}

// Tampered builds a bundle whose files are those of other but whose
// signature is s's signature over p: the digests do not match.
func (s *Signer) Tampered(t testing.TB, p, other *model.Policy, revision string, commit time.Time) []byte {
	t.Helper()
	signed := build(t, p, bundle.Options{Revision: revision, CommitTime: commit, SigningKey: s.Private})
	b := build(t, other, bundle.Options{Revision: revision, CommitTime: commit})
	b.Files = append(b.Files, bundle.File{Path: bundle.SignaturesPath, Data: signed.File(bundle.SignaturesPath)})
	return write(t, b)
}

// Truncated cuts data in half, as an interrupted download would.
func Truncated(data []byte) []byte { return bytes.Clone(data[:len(data)/2]) }

func build(t testing.TB, p *model.Policy, opts bundle.Options) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Build(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t testing.TB, b *bundle.Bundle) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Policy returns a small valid policy: one postgres connection "app", a
// role "reader" (max session 1h) allowed to select from public.*, and the
// named agents, each holding reader with an identity at issuer
// "https://issuer.test" and subject "agent:NAME".
func Policy(agents ...string) *model.Policy { return PolicyFor("https://issuer.test", agents...) }

// PolicyFor is Policy with agent identities at issuer.
func PolicyFor(issuer string, agents ...string) *model.Policy {
	p := &model.Policy{
		SchemaVersion: model.SchemaVersion,
		Connections: map[string]*model.Connection{"app": {
			Name: "app", Type: "postgres", Address: "127.0.0.1:5432", Database: "test", TLSMode: "disable",
			Credential: model.Credential{Username: "postgres"},
			Source:     model.Source{File: "connections.hcl", Line: 1, Column: 1},
		}},
		Maskings: map[string]*model.Masking{},
		Groups:   map[string]*model.Group{},
		Roles: map[string]*model.Role{"reader": {
			Name: "reader",
			Postgres: map[string]*model.PostgresGrant{"app": {
				Connection: "app", Statements: []string{"select"}, Tables: []string{"public.*"},
				Source: model.Source{File: "roles.hcl", Line: 3, Column: 3},
			}},
			MaxSessionSeconds: 3600,
			Source:            model.Source{File: "roles.hcl", Line: 1, Column: 1},
		}},
		Agents: map[string]*model.Agent{},
	}
	for i, a := range agents {
		p.Agents[a] = &model.Agent{
			Name:       a,
			Identities: []*model.Identity{{Issuer: issuer, Subject: "agent:" + a}},
			Roles:      []string{"reader"},
			Source:     model.Source{File: "agents.hcl", Line: 1 + 5*i, Column: 1},
		}
	}
	return p
}

// Time is a fixed commit time plus n hours, for ordering bundles.
func Time(n int) time.Time {
	return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Hour)
}

// Rev names test revision n.
func Rev(n int) string { return fmt.Sprintf("%040x", n) }

// WrongScope builds a bundle signed by s that also carries data outside the
// mandate root (another team's bundle, or one built for another scope).
func (s *Signer) WrongScope(t testing.TB, p *model.Policy, revision string, commit time.Time) []byte {
	t.Helper()
	b := build(t, p, bundle.Options{Revision: revision, CommitTime: commit})
	b.Files = append(b.Files, bundle.File{Path: "other/data.json", Data: []byte(`{"allow":true}` + "\n")})
	hasher, err := opabundle.NewSignatureHasher(opabundle.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var infos []opabundle.FileInfo
	for _, f := range b.Files {
		var v any = f.Data
		if opabundle.IsStructuredDoc(f.Path) {
			if err := util.Unmarshal(f.Data, &v); err != nil {
				t.Fatal(err)
			}
		}
		sum, err := hasher.HashFile(v)
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, opabundle.NewFile(f.Path, hex.EncodeToString(sum), string(opabundle.SHA256)))
	}
	token, err := opabundle.GenerateSignedToken(infos, opabundle.NewSigningConfig(string(s.Private), bundle.ES256, ""), s.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := json.Marshal(opabundle.SignaturesConfig{Signatures: []string{token}})
	b.Files = append(b.Files, bundle.File{Path: bundle.SignaturesPath, Data: sig})
	sort.Slice(b.Files, func(i, j int) bool { return b.Files[i].Path < b.Files[j].Path })
	return write(t, b)
}
