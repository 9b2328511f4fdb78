package main

import (
	"fmt"
	"runtime/debug"

	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/compiler"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

func newValidateCmd() *cobra.Command {
	var (
		format        string
		failOnOverdue bool
	)
	cmd := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a policy repository and report every problem",
		Long: `validate loads every *.hcl file under DIR, checks references, names, durations,
patterns, identities and review dates, and prints every problem at once.

Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage error.
--format github prints workflow annotations for pull requests.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" && format != "github" {
				return usageError{fmt.Errorf("unknown --format %q (want text, json or github)", format)}
			}
			dir := args[0]
			tuneGC()
			repo, diags := compiler.Load(dir, compiler.Options{FailOnOverdue: failOnOverdue})
			out := cmd.OutOrStdout()
			if err := compiler.WriteDiagnostics(out, repo, diags, format); err != nil {
				return fmt.Errorf("writing diagnostics: %w", err)
			}
			if format == "text" {
				fmt.Fprintln(out, validateSummary(dir, repo, diags))
			}
			if diags.HasErrors() {
				return silentExit(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or github")
	cmd.Flags().BoolVar(&failOnOverdue, "fail-on-overdue", false, "treat overdue reviews as errors")
	return cmd
}

// tuneGC trades memory for speed in the short-lived compiler commands:
// loading builds a large syntax tree that stays live, so collecting often
// only burns CPU. The soft memory limit keeps peak RSS bounded.
func tuneGC() {
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(400 << 20)
}

func validateSummary(dir string, repo *compiler.Repo, diags hcl.Diagnostics) string {
	var errs, warns int
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	if errs > 0 {
		return fmt.Sprintf("%s is invalid: %d error(s), %d warning(s).", dir, errs, warns)
	}
	p := repo.Policy
	return fmt.Sprintf("%s is valid: %d agents, %d roles, %d connections, %d masking sets, %d groups; %d warning(s).",
		dir, len(p.Agents), len(p.Roles), len(p.Connections), len(p.Maskings), len(p.Groups), warns)
}
