// Command mandate compiles policy repositories into signed bundles, serves
// the gateway, and reviews recorded usage. Run `mandate --help`.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra. Commands return it
// when the outcome is not a usage error: 1 for "invalid" or "denied".
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// silentExit reports failure through the exit code alone; the command has
// already printed what went wrong.
func silentExit(code int) error { return &exitError{code: code} }

// commands registered by the files of this package, in their init functions.
var commands []func() *cobra.Command

func register(f func() *cobra.Command) { commands = append(commands, f) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "mandate",
		Short: "Govern what automated agents may do to production systems",
		Long: `mandate compiles a policy repository (HCL in git) into a signed OPA bundle,
serves a gateway that decides, masks and records every statement agents run,
and reviews recorded usage to propose tighter access.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, f := range commands {
		root.AddCommand(f())
	}
	return root
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the exit code: 0 success, 1 a
// negative outcome (invalid policy, denied, tampered), 2 a usage error.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "Error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "Error:", err)
	if isUsageError(err) {
		return 2
	}
	return 1
}

// usageError marks bad flags or arguments.
type usageError struct{ error }

func isUsageError(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	// cobra's own flag and argument errors are usage errors.
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown command", "unknown shorthand", "accepts ", "requires at least", "required flag", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
