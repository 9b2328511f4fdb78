package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/internal/explain"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/decision"
)

func init() { register(newExplainCmd) }

func newExplainCmd() *cobra.Command {
	var (
		req       explain.Request
		keyPaths  []string
		approvals []string
		now       string
		format    string
		remote    gatewayFlags
	)
	cmd := &cobra.Command{
		Use:   "explain (DIR|BUNDLE | --gateway URL) --agent A --connection C (--sql TEXT | --command TEXT | --shell | --session)",
		Short: "Say whether an agent may run a statement or command, and why",
		Long: `explain answers allow, deny or needs_approval for one question, with the
reason and the source location of the policy block that decided it. It uses
the gateway's own decision engine and SQL analyzer: a policy directory is
compiled and signed in memory first, a bundle file is verified with --key.

With --gateway URL the question goes to a running gateway's POST /v1/decide
and is answered by its active bundle: --ca FILE trusts the gateway's
(self-signed) certificate, and --token (default: env MANDATE_TOKEN) is a human
OIDC token whose policy groups hold any API role (unless the gateway sets
api { open_dry_run = true }).

--approval ID:ROLE treats an approved request of ROLE as active. --now sets
the clock for review due dates (RFC 3339 or YYYY-MM-DD; default now).

Exit status: 0 allowed, 1 denied or needs approval (or an invalid policy),
2 usage error.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if remote.url != "" {
				if len(args) != 0 {
					return usageError{fmt.Errorf("give a policy directory or bundle, or --gateway, not both")}
				}
				return nil
			}
			if len(args) != 1 {
				return usageError{fmt.Errorf("give a policy directory or bundle file, or --gateway URL")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextJSON(format); err != nil {
				return err
			}
			if req.Agent == "" || req.Connection == "" {
				return usageError{fmt.Errorf("--agent and --connection are required")}
			}
			n := 0
			for _, set := range []bool{req.SQL != "", req.Command != "", req.Shell, req.Session} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usageError{fmt.Errorf("give exactly one of --sql, --command, --shell and --session")}
			}
			for _, a := range approvals {
				id, role, ok := strings.Cut(a, ":")
				if !ok || id == "" || role == "" {
					return usageError{fmt.Errorf("--approval %q: want ID:ROLE", a)}
				}
				req.Approvals = append(req.Approvals, model.ActiveApproval{ID: id, Role: role})
			}
			req.Now = time.Now()
			if now != "" {
				t, err := parseExplainTime(now)
				if err != nil {
					return usageError{err}
				}
				req.Now = t
			}
			var res *explain.Result
			if remote.url != "" {
				if len(keyPaths) > 0 {
					return usageError{fmt.Errorf("--key verifies a local bundle; the gateway verifies its own")}
				}
				r, err := remote.explain(cmd.Context(), req, now != "")
				if err != nil {
					return err
				}
				res = r
			} else {
				r, err := explainLocal(cmd, args[0], keyPaths, req)
				if err != nil {
					return err
				}
				res = r
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else if err := explain.WriteText(w, res); err != nil {
				return err
			}
			if res.Result != model.Allow {
				return silentExit(1)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Agent, "agent", "", "agent name")
	f.StringVar(&req.Connection, "connection", "", "connection name")
	f.StringVar(&req.SQL, "sql", "", "SQL text (every statement is decided)")
	f.StringVar(&req.Command, "command", "", "SSH command")
	f.BoolVar(&req.Shell, "shell", false, "an interactive SSH shell")
	f.BoolVar(&req.Session, "session", false, "opening a session on the connection")
	f.StringArrayVar(&keyPaths, "key", nil, "PEM public key to verify a bundle file with (repeatable)")
	f.StringArrayVar(&approvals, "approval", nil, "an active approval, ID:ROLE (repeatable)")
	f.StringVar(&now, "now", "", "clock for review due dates (RFC 3339 or YYYY-MM-DD)")
	f.StringVar(&format, "format", "text", "output format: text or json")
	remote.register(cmd)
	return cmd
}

// explainLocal decides req with the policy directory or bundle at path.
func explainLocal(cmd *cobra.Command, path string, keyPaths []string, req explain.Request) (*explain.Result, error) {
	keys, err := readVerificationKeys(keyPaths)
	if err != nil {
		return nil, err
	}
	opened, err := explain.Open(path, keys, req.Now)
	if err != nil {
		return nil, err
	}
	if opened.Diags.HasErrors() {
		_ = compiler.WriteDiagnostics(cmd.ErrOrStderr(), opened.Repo, opened.Diags, "text")
		return nil, &exitError{code: 1, err: fmt.Errorf("%s is invalid", path)}
	}
	engine, err := decision.New(cmd.Context(), opened.Loaded, decision.Options{CacheSize: -1})
	if err != nil {
		return nil, err
	}
	return explain.Explain(cmd.Context(), engine, req)
}

func parseExplainTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--now %q: want RFC 3339 or YYYY-MM-DD", s)
}
