package main

import (
	"encoding/json"
	"fmt"

	"github.com/mandatehq/mandate/internal/version"
	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

func newVersionCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				return json.NewEncoder(out).Encode(map[string]string{
					"version": version.Version, "commit": version.Commit, "go": version.Go(),
				})
			case "text":
				fmt.Fprintf(out, "mandate %s (commit %s, %s)\n", version.Version, version.Commit, version.Go())
				return nil
			}
			return usageError{fmt.Errorf("unknown --format %q (want text or json)", format)}
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
