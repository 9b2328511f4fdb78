package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
)

func init() { register(newCompileCmd) }

func newCompileCmd() *cobra.Command {
	var out, signingKey, keyID, revision, format string
	cmd := &cobra.Command{
		Use:   "compile DIR -o bundle.tar.gz --signing-key PREFIX.key",
		Short: "Compile a policy repository into a signed OPA bundle",
		Long: `compile validates DIR (as "mandate validate" does), compiles it and writes a
signed OPA bundle: .manifest (revision = the repository's git commit, with
"+dirty" when files under DIR differ from it), mandate/data.json (the compiled
model; credentials only as env()/file() references), the Rego library, and
.signatures.json. The unsigned contents are reproducible from the same commit.

Exit status: 0 compiled, 1 invalid policy or failure, 2 usage error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextJSON(format); err != nil {
				return err
			}
			if out == "" || signingKey == "" {
				return usageError{fmt.Errorf("-o FILE and --signing-key PREFIX.key are required")}
			}
			dir := args[0]
			key, err := os.ReadFile(signingKey)
			if err != nil {
				return fmt.Errorf("reading signing key: %w", err)
			}
			repo, diags := compiler.Load(dir, compiler.Options{})
			if len(diags) > 0 {
				if err := compiler.WriteDiagnostics(cmd.ErrOrStderr(), repo, diags, "text"); err != nil {
					return fmt.Errorf("writing diagnostics: %w", err)
				}
			}
			if diags.HasErrors() {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s is invalid: not compiled.\n", dir)
				return silentExit(1)
			}
			var commitTime time.Time
			if revision == "" {
				if revision, commitTime, err = bundle.Revision(dir); err != nil {
					return fmt.Errorf("%w (pass --revision to name the revision yourself)", err)
				}
			}
			b, err := bundle.Build(repo.Policy, bundle.Options{Revision: revision, CommitTime: commitTime, SigningKey: key, KeyID: keyID})
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := b.Write(&buf); err != nil {
				return err
			}
			if err := writeAtomic(out, buf.Bytes()); err != nil {
				return err
			}
			sum := sha256.Sum256(buf.Bytes())
			return printCompiled(cmd, format, compileReport{
				Bundle: out, Revision: revision, KeyID: b.KeyID, Size: buf.Len(), SHA256: hex.EncodeToString(sum[:]),
				Agents: len(repo.Policy.Agents), Roles: len(repo.Policy.Roles), Connections: len(repo.Policy.Connections),
				Warnings: countWarnings(diags),
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "bundle file to write (tar.gz)")
	cmd.Flags().StringVar(&signingKey, "signing-key", "", "PEM private key (ES256 or RS256)")
	cmd.Flags().StringVar(&keyID, "key-id", "", "key id in the signature (default: derived from the key)")
	cmd.Flags().StringVar(&revision, "revision", "", "revision to record (default: the git commit of DIR)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

type compileReport struct {
	Bundle      string `json:"bundle"`
	Revision    string `json:"revision"`
	KeyID       string `json:"key_id"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
	Agents      int    `json:"agents"`
	Roles       int    `json:"roles"`
	Connections int    `json:"connections"`
	Warnings    int    `json:"warnings"`
}

func printCompiled(cmd *cobra.Command, format string, r compileReport) error {
	w := cmd.OutOrStdout()
	if format == "json" {
		return json.NewEncoder(w).Encode(r)
	}
	fmt.Fprintf(w, "compiled %s: revision %s, %d agents, %d roles, %d connections\nsigned with key %s: %d bytes, sha256 %s\n",
		r.Bundle, r.Revision, r.Agents, r.Roles, r.Connections, r.KeyID, r.Size, r.SHA256)
	return nil
}

func countWarnings(diags hcl.Diagnostics) int {
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			n++
		}
	}
	return n
}

// writeAtomic writes data to path through a temporary file and a rename, so
// a gateway watching path never reads half a bundle.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bundle-*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
