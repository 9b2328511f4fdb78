package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/store"
	"github.com/spf13/cobra"
)

func init() { register(newAuditCmd) }

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify, export and summarise the tamper-evident record"}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditExportCmd(), newAuditUsageCmd())
	return cmd
}

func loadKeys(paths []string) (audit.KeySet, error) {
	var pubs []ed25519.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading key %s: %w", p, err)
		}
		pub, err := chain.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("reading key %s: %w", p, err)
		}
		pubs = append(pubs, pub)
	}
	return audit.NewKeySet(pubs...), nil
}

func newAuditVerifyCmd() *cobra.Command {
	var target, file, format string
	var keyPaths []string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check hash chains and signed checkpoints end to end; exit 1 when tampered",
		Long: `verify checks the record (--store) or an export or signed usage file (--file).
It names the first event deleted, altered or reordered and exits 1 if any.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			keys, err := loadKeys(keyPaths)
			if err != nil {
				return usageError{err}
			}
			ctx := cmd.Context()
			var src audit.Source
			opts := audit.VerifyOptions{Keys: keys}
			switch {
			case file != "":
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("reading %s: %w", file, err)
				}
				if su, ok := asSignedUsage(b); ok {
					return verifyUsageFile(cmd, su, keys, format)
				}
				ev, err := audit.ReadEvidence(bytes.NewReader(b))
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				src, opts.Excerpt = ev, true
			default:
				st, err := openRecord(ctx, target)
				if err != nil {
					return err
				}
				defer st.Close()
				src = st
			}
			rep, err := audit.Verify(ctx, src, opts)
			if err != nil {
				return err
			}
			if format == "json" {
				err = writeJSON(cmd, rep)
			} else {
				err = audit.WriteReportText(cmd.OutOrStdout(), rep)
			}
			if err != nil {
				return err
			}
			if !rep.OK {
				return silentExit(1)
			}
			return nil
		},
	}
	storeFlag(cmd, &target)
	cmd.Flags().StringVar(&file, "file", "", "verify an export (evidence.jsonl) or a signed usage file instead of the store")
	cmd.Flags().StringArrayVar(&keyPaths, "key", nil, "trusted public key file (PEM); repeatable (default: keys recorded in the store or file)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func asSignedUsage(b []byte) (*model.SignedUsage, bool) {
	var su model.SignedUsage
	if json.Unmarshal(b, &su) != nil || len(su.Payload) == 0 || len(su.Signature) == 0 {
		return nil, false
	}
	return &su, true
}

func verifyUsageFile(cmd *cobra.Command, su *model.SignedUsage, keys audit.KeySet, format string) error {
	if len(keys) == 0 {
		return usageError{errors.New("verifying a signed usage file needs --key")}
	}
	u, err := audit.VerifyUsage(su, keys)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	if format == "json" {
		return writeJSON(cmd, map[string]any{"ok": true, "key_id": su.KeyID, "since": u.Since, "until": u.Until})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "signed usage ok: key %s, %s to %s, %d agents, %d grants\n",
		su.KeyID, u.Since.Format(time.RFC3339), u.Until.Format(time.RFC3339), len(u.Agents), len(u.Grants))
	return nil
}

func newAuditExportCmd() *cobra.Command {
	var target, since, until, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write events of a time window with their checkpoints as JSON Lines evidence",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			s, err := parseTime("since", since, now)
			if err != nil {
				return err
			}
			u, err := parseTime("until", until, now)
			if err != nil {
				return err
			}
			if u.IsZero() {
				u = now
			}
			st, err := openRecord(cmd.Context(), target)
			if err != nil {
				return err
			}
			defer st.Close()
			var w io.Writer = cmd.OutOrStdout()
			if out != "" {
				fh, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("creating %s: %w", out, err)
				}
				defer fh.Close()
				w = fh
			}
			n, err := audit.Export(cmd.Context(), st, s, u, w)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d events\n", n)
			return nil
		},
	}
	storeFlag(cmd, &target)
	cmd.Flags().StringVar(&since, "since", "", "start of the window: duration ago (30d) or time (default: the beginning)")
	cmd.Flags().StringVar(&until, "until", "", "end of the window (default: now)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

func newAuditUsageCmd() *cobra.Command {
	var target, since, until, format, signKey string
	var f audit.UsageFilter
	var unsigned bool
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Summarise what each agent, role and grant was used for (exact counts)",
		Long: `usage counts every allowed statement and command in the window under the role
and grant that allowed it. --format json prints model.SignedUsage, signed with
the gateway's record key (--sign-key, default record.key next to an SQLite
store); --unsigned prints the bare model.Usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "json", "markdown"); err != nil {
				return err
			}
			now := time.Now()
			var err error
			if since == "" {
				return usageError{errors.New("--since is required (for example 90d)")}
			}
			if f.Since, err = parseTime("since", since, now); err != nil {
				return err
			}
			if f.Until, err = parseTime("until", until, now); err != nil {
				return err
			}
			if f.Until.IsZero() {
				f.Until = now
			}
			var key *chain.Key
			if format == "json" && !unsigned {
				if signKey == "" && target != "" && !store.IsPostgres(target) {
					signKey = filepath.Join(filepath.Dir(target), chain.PrivateKeyFile)
				}
				if signKey == "" {
					return usageError{errors.New("signing usage needs --sign-key (or --unsigned)")}
				}
				b, err := os.ReadFile(signKey)
				if err != nil {
					return fmt.Errorf("reading signing key (pass --sign-key or --unsigned): %w", err)
				}
				if key, err = chain.ParsePrivateKey(b); err != nil {
					return err
				}
			}
			st, err := openRecord(cmd.Context(), target)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := audit.Usage(cmd.Context(), st, f)
			if err != nil {
				return err
			}
			switch {
			case format == "markdown":
				return audit.WriteUsageMarkdown(cmd.OutOrStdout(), u)
			case unsigned:
				return writeJSON(cmd, u)
			}
			su, err := audit.SignUsage(u, key)
			if err != nil {
				return err
			}
			return writeJSON(cmd, su)
		},
	}
	storeFlag(cmd, &target)
	cmd.Flags().StringVar(&since, "since", "", "start of the window: duration ago (90d) or time")
	cmd.Flags().StringVar(&until, "until", "", "end of the window (default: now)")
	cmd.Flags().StringVar(&f.Role, "role", "", "only grants of this role")
	cmd.Flags().StringVar(&f.Agent, "agent", "", "only this agent")
	cmd.Flags().StringVar(&format, "format", "json", "output format: json (signed) or markdown")
	cmd.Flags().StringVar(&signKey, "sign-key", "", "record private key that signs the JSON (default: record.key next to an SQLite store)")
	cmd.Flags().BoolVar(&unsigned, "unsigned", false, "print the JSON without a signature")
	return cmd
}
