package main

import (
	"encoding/json"
	"fmt"

	"github.com/mandatehq/mandate/compiler"
	"github.com/spf13/cobra"
)

func init() { register(newFmtCmd) }

func newFmtCmd() *cobra.Command {
	var (
		check  bool
		format string
	)
	cmd := &cobra.Command{
		Use:   "fmt [-check] DIR",
		Short: "Rewrite policy files in the canonical format",
		Long: `fmt rewrites every *.hcl file under DIR in the canonical layout, as terraform fmt
does, and lists the files it changed. With -check it changes nothing, lists the
files that are not formatted and exits 1 if there are any.`,
		// Flag parsing is done in RunE so that terraform's single-dash
		// spelling (-check) works alongside --check.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, raw []string) error {
			for i, a := range raw {
				if a == "-h" || a == "-help" || a == "--help" {
					return cmd.Help()
				}
				if len(a) > 2 && a[0] == '-' && a[1] != '-' {
					raw[i] = "-" + a
				}
			}
			if err := cmd.Flags().Parse(raw); err != nil {
				return usageError{err}
			}
			args := cmd.Flags().Args()
			if len(args) != 1 {
				return usageError{fmt.Errorf("fmt takes one directory argument, got %d", len(args))}
			}
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q (want text or json)", format)}
			}
			results, diags, err := compiler.FormatDir(args[0], check)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			changed := []string{}
			for _, r := range results {
				if r.Changed {
					changed = append(changed, r.File)
				}
			}
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"check": check, "changed": changed, "files": len(results)}); err != nil {
					return fmt.Errorf("writing result: %w", err)
				}
			} else {
				for _, f := range changed {
					fmt.Fprintln(out, f)
				}
			}
			if len(diags) > 0 {
				if err := compiler.WriteDiagnostics(cmd.ErrOrStderr(), &compiler.Repo{Dir: args[0]}, diags, "text"); err != nil {
					return fmt.Errorf("writing diagnostics: %w", err)
				}
			}
			if diags.HasErrors() || (check && len(changed) > 0) {
				return silentExit(1)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "list unformatted files and exit 1 if any; change nothing")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
