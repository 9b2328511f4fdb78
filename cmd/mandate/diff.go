package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/compiler/diff"
	"github.com/mandatehq/mandate/model"
)

func init() { register(newDiffCmd) }

func newDiffCmd() *cobra.Command {
	var repoDir, format string
	var keyPaths []string
	var failOnChange bool
	cmd := &cobra.Command{
		Use:   "diff OLD NEW | diff --repo DIR REV [REV]",
		Short: "Print what each agent gains or loses between two policies",
		Long: `diff compares the effective access of two policies, agent by agent:
statement classes on tables, functions, SSH commands, requestable grants,
masking and identities, and the role each comes through, e.g.
"fulfilment-planner gains update on public.orders via role order_writer".

OLD and NEW are two bundle files (verified when --key is given, otherwise
read unverified) or two policy directories. With --repo DIR they are git
revisions of the policy repository at DIR; a single revision is compared
with the working tree. --format markdown prints a pull-request comment.

Exit status: 0 (or 1 with --exit-code when something changed), 2 usage error.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "markdown" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q (want text, markdown or json)", format)}
			}
			if repoDir == "" && len(args) != 2 {
				return usageError{fmt.Errorf("give OLD and NEW, or --repo DIR and one or two revisions")}
			}
			keys, err := readVerificationKeys(keyPaths)
			if err != nil {
				return err
			}
			load := func(arg string) (*model.Policy, string, error) {
				if repoDir != "" {
					p, diags, err := diff.LoadRevision(repoDir, arg, compiler.Options{})
					if diags.HasErrors() {
						_ = compiler.WriteDiagnostics(cmd.ErrOrStderr(), nil, diags, "text")
					}
					return p, arg, err
				}
				return loadPolicyArg(cmd, arg, keys)
			}
			old, oldName, err := load(args[0])
			if err != nil {
				return err
			}
			var newP *model.Policy
			var newName string
			if len(args) == 2 {
				newP, newName, err = load(args[1])
			} else {
				newP, newName, err = loadPolicyArg(cmd, repoDir, keys)
				newName = "working tree"
			}
			if err != nil {
				return err
			}
			r := diff.Compare(oldName, old, newName, newP)
			if err := diff.Write(cmd.OutOrStdout(), r, format); err != nil {
				return err
			}
			if failOnChange && !r.Empty() {
				return silentExit(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&repoDir, "repo", "", "policy directory in a git repository: OLD and NEW are revisions")
	cmd.Flags().StringArrayVar(&keyPaths, "key", nil, "PEM public key to verify bundle files with (repeatable)")
	cmd.Flags().BoolVar(&failOnChange, "exit-code", false, "exit 1 when access changed")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, markdown or json")
	return cmd
}

// loadPolicyArg loads a policy directory or a bundle file.
func loadPolicyArg(cmd *cobra.Command, arg string, keys map[string][]byte) (*model.Policy, string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, "", fmt.Errorf("opening %s: %w", arg, err)
	}
	if st.IsDir() {
		repo, diags := compiler.Load(arg, compiler.Options{})
		if diags.HasErrors() {
			_ = compiler.WriteDiagnostics(cmd.ErrOrStderr(), repo, diags, "text")
			return nil, "", &exitError{code: 1, err: fmt.Errorf("%s is invalid", arg)}
		}
		return repo.Policy, arg, nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, "", fmt.Errorf("opening bundle: %w", err)
	}
	defer f.Close()
	var l *bundle.Loaded
	if len(keys) > 0 {
		l, err = bundle.Load(f, keys, bundle.LoadOptions{})
	} else {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s is read without verifying its signature (pass --key)\n", arg)
		l, err = bundle.Inspect(f, bundle.LoadOptions{})
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading bundle %s: %w", arg, err)
	}
	return l.Policy, fmt.Sprintf("%s (%s)", arg, l.Revision), nil
}
