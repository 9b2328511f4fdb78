package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mandatehq/mandate/compiler/bundle"
)

func init() { register(newVerifyCmd) }

func newVerifyCmd() *cobra.Command {
	var keyPaths []string
	var format string
	var maxBytes int64
	cmd := &cobra.Command{
		Use:   "verify BUNDLE --key PREFIX.pub",
		Short: "Verify a bundle's signature and contents",
		Long: `verify checks that BUNDLE is signed by one of the --key public keys (repeat
the flag for several; each key's id is derived from it), that every file
matches the signature, that no file is missing or extra, that its only root
is "mandate" and that its schema version is understood. It prints the
revision, the files and the key id.

Exit status: 0 verified, 1 rejected, 2 usage error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextJSON(format); err != nil {
				return err
			}
			if len(keyPaths) == 0 {
				return usageError{fmt.Errorf("--key PREFIX.pub is required")}
			}
			keys, err := readVerificationKeys(keyPaths)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("opening bundle: %w", err)}
			}
			defer f.Close()
			l, err := bundle.Load(f, keys, bundle.LoadOptions{MaxBytes: maxBytes})
			if err != nil {
				if format == "json" {
					_ = json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"bundle": args[0], "verified": false, "error": err.Error()})
					return silentExit(1)
				}
				return &exitError{code: 1, err: fmt.Errorf("%s rejected: %w", args[0], err)}
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				ct := ""
				if !l.CommitTime.IsZero() {
					ct = l.CommitTime.Format(time.RFC3339)
				}
				return json.NewEncoder(w).Encode(map[string]any{
					"bundle": args[0], "verified": true, "revision": l.Revision, "commit_time": ct,
					"schema_version": l.SchemaVersion, "key_id": l.KeyID, "sha256": l.Digest, "files": l.Files,
				})
			}
			fmt.Fprintf(w, "%s: verified\n  revision:    %s\n", args[0], l.Revision)
			if !l.CommitTime.IsZero() {
				fmt.Fprintf(w, "  commit time: %s\n", l.CommitTime.Format(time.RFC3339))
			}
			fmt.Fprintf(w, "  key id:      %s\n  schema:      %d\n  files:\n", l.KeyID, l.SchemaVersion)
			for _, f := range l.Files {
				fmt.Fprintf(w, "    %-24s %8d  sha256:%s\n", f.Path, f.Size, f.SHA256[:16])
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&keyPaths, "key", nil, "PEM public key to verify with (repeatable)")
	cmd.Flags().Int64Var(&maxBytes, "max-bytes", bundle.DefaultMaxBytes, "largest bundle accepted, compressed and unpacked")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
