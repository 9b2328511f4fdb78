package explain

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
)

// Unversioned is the revision of a policy directory outside git.
const Unversioned = "unversioned"

// Opened is a policy ready for an engine.
type Opened struct {
	Loaded *bundle.Loaded
	// Repo and Diags are set when the path was a directory; Loaded is nil
	// when Diags has errors.
	Repo  *compiler.Repo
	Diags hcl.Diagnostics
}

// Open reads path: a directory is loaded as a policy repository, compiled
// into a bundle, signed with a throwaway ES256 key and verified again, so
// that explain sees exactly what the gateway would; a file is read as a
// bundle and verified against keys (key id -> PEM).
func Open(path string, keys map[string][]byte, now time.Time) (*Opened, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("opening bundle %s: %w", path, err)
		}
		defer f.Close()
		if len(keys) == 0 {
			return nil, fmt.Errorf("opening bundle %s: a verification key is required (--key)", path)
		}
		l, err := bundle.Load(f, keys, bundle.LoadOptions{})
		if err != nil {
			return nil, fmt.Errorf("loading bundle %s: %w", path, err)
		}
		return &Opened{Loaded: l}, nil
	}
	repo, diags := compiler.Load(path, compiler.Options{Now: now})
	o := &Opened{Repo: repo, Diags: diags}
	if diags.HasErrors() {
		return o, nil
	}
	rev, commitTime, err := bundle.Revision(path)
	if err != nil {
		rev, commitTime = Unversioned, time.Time{}
	}
	o.Loaded, err = compileInMemory(repo, rev, commitTime)
	return o, err
}

func compileInMemory(repo *compiler.Repo, rev string, commitTime time.Time) (*bundle.Loaded, error) {
	priv, pub, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		return nil, err
	}
	b, err := bundle.Build(repo.Policy, bundle.Options{Revision: rev, CommitTime: commitTime, SigningKey: priv})
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", repo.Dir, err)
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		return nil, fmt.Errorf("writing bundle: %w", err)
	}
	l, err := bundle.Load(&buf, map[string][]byte{b.KeyID: pub}, bundle.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("loading compiled bundle: %w", err)
	}
	return l, nil
}
