package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/mandatehq/mandate/runtime/config"
	"github.com/mandatehq/mandate/runtime/gateway"
)

func init() { register(newServeCmd) }

func newServeCmd() *cobra.Command {
	var path, format string
	var check bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway (or, with --check, validate its configuration)",
		Long: `serve runs the mandate gateway described by a gateway.hcl file: it loads
signed policy bundles hot, decides every statement agents run, and serves the
HTTP API (/healthz, /readyz, /metrics, /v1/bundle, /v1/decide, /v1/token, and
the auditor routes /v1/sessions and /v1/audit/*, for humans with an OIDC token).
With --check it validates the configuration, its keys and certificates, and
exits: 0 when valid, 1 when not. See docs/gateway.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q (want text or json)", format)}
			}
			cfg, diags := config.Load(path)
			if diags.HasErrors() {
				writeConfigDiags(cmd, format, path, diags)
				return silentExit(1)
			}
			if check {
				if err := gateway.Check(cfg); err != nil {
					if format == "json" {
						_ = json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"valid": false, "error": err.Error()})
						return silentExit(1)
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", path, err)
					return silentExit(1)
				}
				if format == "json" {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"valid": true})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: configuration is valid\n", path)
				return nil
			}
			log := gateway.NewLogger(os.Stderr, cfg.LogLevel)
			g, err := gateway.New(cfg, gateway.Options{Logger: log})
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := g.Run(ctx); err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "gateway.hcl", "gateway configuration file")
	cmd.Flags().BoolVar(&check, "check", false, "validate the configuration and exit")
	cmd.Flags().StringVar(&format, "format", "text", "output format of --check and of diagnostics: text or json")
	return cmd
}

// writeConfigDiags prints configuration diagnostics: Terraform-style text
// with source snippets, or a JSON list.
func writeConfigDiags(cmd *cobra.Command, format, path string, diags hcl.Diagnostics) {
	if format == "json" {
		type jd struct {
			Severity string `json:"severity"`
			Summary  string `json:"summary"`
			Detail   string `json:"detail,omitempty"`
			File     string `json:"file,omitempty"`
			Line     int    `json:"line,omitempty"`
			Column   int    `json:"column,omitempty"`
		}
		out := []jd{}
		for _, d := range diags {
			j := jd{Severity: "error", Summary: d.Summary, Detail: d.Detail}
			if d.Severity == hcl.DiagWarning {
				j.Severity = "warning"
			}
			if d.Subject != nil {
				j.File, j.Line, j.Column = d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column
			}
			out = append(out, j)
		}
		_ = json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"valid": false, "diagnostics": out})
		return
	}
	files := map[string]*hcl.File{}
	if src, err := os.ReadFile(path); err == nil {
		files[path] = &hcl.File{Bytes: src}
	}
	w := hcl.NewDiagnosticTextWriter(cmd.ErrOrStderr(), files, 100, false)
	_ = w.WriteDiagnostics(diags)
}
