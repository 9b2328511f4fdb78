package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/review"
	"github.com/spf13/cobra"
)

func init() { register(newReviewCmd) }

// reviewFlags are the flags of `mandate review`.
type reviewFlags struct {
	policy, usage, usageKey, usageCA, token string
	since, notice, date                     string
	roles, labels                           []string
	openPR, dryRun                          bool
	out, format                             string
	remote, repo, base                      string
	githubURL, githubToken                  string
	gitToken, sshKey                        string
	authorName, authorEmail                 string
	baselineMin                             int
}

func newReviewCmd() *cobra.Command {
	var f reviewFlags
	cmd := &cobra.Command{
		Use:   "review --policy DIR --usage SOURCE [--open-pr | --dry-run | --out DIR]",
		Short: "Propose recertification pull requests from recorded usage",
		Long: `review compares what each role grants with what agents did through the gateway
and proposes exact tightenings as edits of the policy files: unused statement
classes, tables, SSH commands and grant blocks are removed, wildcards narrowed
to what was used, agents without sessions removed, and last_reviewed set to the
review date. Roles are reviewed when their review is due (or within --notice);
--role forces one.

SOURCE is a usage export file (plain or signed JSON; --usage-key verifies the
signature), a gateway URL (GET /v1/audit/usage with an auditor token from
--token or MANDATE_TOKEN), or the record store itself (a SQLite file or a
PostgreSQL DSN).

--dry-run (the default) prints the report and the edits; --out DIR writes the
edited files and the evidence; --open-pr commits them on recert/ROLE-DATE,
pushes and opens or updates the pull request (GITHUB_TOKEN).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReview(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.policy, "policy", ".", "policy repository directory")
	fl.StringVar(&f.usage, "usage", "", "usage source: export file, gateway URL, SQLite file or PostgreSQL DSN (required)")
	fl.StringVar(&f.usageKey, "usage-key", "", "ed25519 public key file; the usage must be signed by it")
	fl.StringVar(&f.usageCA, "ca", "", "PEM certificate file that a gateway URL in --usage is trusted by (a gateway's self-signed state/tls/gateway.crt)")
	fl.StringVar(&f.token, "token", "", "auditor bearer token for a gateway URL (default $MANDATE_TOKEN)")
	fl.StringVar(&f.since, "since", "90d", "usage window read from a gateway or store; widened to the longest unused_after under review")
	fl.StringVar(&f.notice, "notice", "14d", "propose reviews due within this period")
	fl.StringVar(&f.date, "date", "", "review date YYYY-MM-DD (default today, UTC)")
	fl.StringArrayVar(&f.roles, "role", nil, "review this role, due or not (repeatable)")
	fl.IntVar(&f.baselineMin, "baseline-min", review.DefaultBaselineMin, "approvals that make a request a baseline candidate")
	fl.BoolVar(&f.openPR, "open-pr", false, "commit, push and open or update a pull request per role")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the report and the edits without writing anything (default)")
	fl.StringVar(&f.out, "out", "", "write edited files and evidence under this directory")
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	fl.StringVar(&f.remote, "remote", "origin", "git remote name or URL to push to")
	fl.StringVar(&f.repo, "repo", "", "GitHub OWNER/NAME (default: read from the remote URL)")
	fl.StringVar(&f.base, "base", "main", "branch the pull request merges into")
	fl.StringVar(&f.githubURL, "github-url", "", "GitHub API URL (default $GITHUB_API_URL or https://api.github.com)")
	fl.StringVar(&f.githubToken, "github-token", "", "GitHub token (default $GITHUB_TOKEN)")
	fl.StringVar(&f.gitToken, "git-token", "", "token for an HTTPS push (default the GitHub token)")
	fl.StringVar(&f.sshKey, "ssh-key", "", "private key file for an SSH push")
	fl.StringVar(&f.authorName, "author-name", "", "commit author name (default \"mandate review bot\")")
	fl.StringVar(&f.authorEmail, "author-email", "", "commit author email")
	fl.StringArrayVar(&f.labels, "label", []string{"recertification"}, "label for the pull request (repeatable)")
	return cmd
}

func runReview(cmd *cobra.Command, f *reviewFlags) error {
	if f.format != "text" && f.format != "json" {
		return usageError{fmt.Errorf("unknown --format %q (want text or json)", f.format)}
	}
	modes := 0
	for _, on := range []bool{f.openPR, f.dryRun, f.out != ""} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return usageError{errors.New("--open-pr, --dry-run and --out exclude each other")}
	}
	if f.usage == "" {
		return usageError{errors.New("--usage is required")}
	}
	now := time.Now().UTC()
	if f.date != "" {
		d, err := time.Parse(time.DateOnly, f.date)
		if err != nil {
			return usageError{fmt.Errorf("--date %q is not YYYY-MM-DD", f.date)}
		}
		now = d
	}
	since, err := parseDays(f.since)
	if err != nil {
		return usageError{fmt.Errorf("--since: %w", err)}
	}
	notice, err := parseDays(f.notice)
	if err != nil {
		return usageError{fmt.Errorf("--notice: %w", err)}
	}

	repo, diags := compiler.Load(f.policy, compiler.Options{Now: now})
	if diags.HasErrors() {
		if err := compiler.WriteDiagnostics(cmd.ErrOrStderr(), repo, diags, "text"); err != nil {
			return err
		}
		return &exitError{code: 1, err: fmt.Errorf("policy %s is invalid; fix it before the review", f.policy)}
	}
	p := repo.Policy
	due, missing := review.DueRoles(p, now, notice, f.roles)
	if len(missing) > 0 {
		return usageError{fmt.Errorf("no role named %s in %s", strings.Join(missing, ", "), f.policy)}
	}
	for _, d := range due {
		if rv := p.Roles[d.Role].Review; rv != nil && time.Duration(rv.UnusedAfterSeconds)*time.Second > since {
			since = time.Duration(rv.UnusedAfterSeconds) * time.Second
		}
	}
	token := f.token
	if token == "" {
		token = os.Getenv("MANDATE_TOKEN")
	}
	loaded, err := loadUsage(cmd.Context(), f.usage, f.usageKey, f.usageCA, token, now.Add(-since), now)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	plan, err := review.Propose(p, loaded.Usage, review.Options{Now: now, Notice: notice, Roles: f.roles, BaselineMin: f.baselineMin})
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	outs, err := review.Build(f.policy, plan, loaded)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	switch {
	case f.out != "":
		for _, ro := range outs {
			if err := review.WriteOut(f.out, ro); err != nil {
				return &exitError{code: 1, err: err}
			}
		}
	case f.openPR:
		if err := openPRs(cmd, f, outs, now); err != nil {
			return &exitError{code: 1, err: err}
		}
	}
	return printReview(cmd.OutOrStdout(), f, plan, outs)
}

func openPRs(cmd *cobra.Command, f *reviewFlags, outs []*review.RoleOutput, now time.Time) error {
	ghToken := f.githubToken
	if ghToken == "" {
		ghToken = os.Getenv("GITHUB_TOKEN")
	}
	if ghToken == "" {
		return errors.New("opening pull requests needs a GitHub token: --github-token or GITHUB_TOKEN")
	}
	apiURL := f.githubURL
	if apiURL == "" {
		apiURL = os.Getenv("GITHUB_API_URL")
	}
	gitToken := f.gitToken
	if gitToken == "" {
		gitToken = ghToken
	}
	o := review.PublishOptions{
		Git: review.GitOptions{Dir: f.policy, Remote: f.remote, Token: gitToken, SSHKey: f.sshKey,
			SSHKeyPassphrase: os.Getenv("MANDATE_SSH_KEY_PASSPHRASE"), AuthorName: f.authorName, AuthorEmail: f.authorEmail},
		GitHub: &review.GitHub{BaseURL: apiURL, Token: ghToken},
		Base:   f.base, Labels: f.labels,
	}
	if f.repo != "" {
		owner, name, ok := strings.Cut(f.repo, "/")
		if !ok || owner == "" || name == "" {
			return fmt.Errorf("--repo %q is not OWNER/NAME", f.repo)
		}
		o.Owner, o.Repo = owner, name
	}
	for _, ro := range outs {
		if err := review.OpenPR(cmd.Context(), o, ro); err != nil {
			return err
		}
	}
	return nil
}

func printReview(w io.Writer, f *reviewFlags, plan *review.Plan, outs []*review.RoleOutput) error {
	if f.format == "json" {
		type roleJSON struct {
			*review.RoleOutput
			Files []string `json:"files"`
		}
		doc := struct {
			Date  string     `json:"date"`
			Since time.Time  `json:"since"`
			Until time.Time  `json:"until"`
			Roles []roleJSON `json:"roles"`
		}{Date: plan.Date, Since: plan.Since, Until: plan.Until, Roles: []roleJSON{}}
		for _, ro := range outs {
			rj := roleJSON{RoleOutput: ro}
			for name := range ro.Files {
				rj.Files = append(rj.Files, name)
			}
			slices.Sort(rj.Files)
			doc.Roles = append(doc.Roles, rj)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	if len(outs) == 0 {
		fmt.Fprintf(w, "No role is due for review on %s.\n", plan.Date)
		return nil
	}
	for _, ro := range outs {
		fmt.Fprintf(w, "%s: branch %s, %d proposal(s), %d by hand\n", ro.Title, ro.Branch, len(ro.Review.Proposals), len(ro.Manual))
		switch {
		case ro.PR != nil:
			fmt.Fprintf(w, "  pull request #%d %s\n", ro.PR.Number, ro.PR.HTMLURL)
		case f.out != "":
			fmt.Fprintf(w, "  wrote %d file(s) under %s\n", len(ro.Files), f.out)
		default:
			fmt.Fprintf(w, "\n%s\n", ro.Evidence.Markdown(""))
			for _, name := range ro.Edited {
				before, err := os.ReadFile(filepath.Join(f.policy, filepath.FromSlash(name)))
				if err != nil {
					return err
				}
				fmt.Fprint(w, review.Diff(name, before, ro.Files[name]))
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

// parseDays reads "90d", "2w" or a Go duration ("36h").
func parseDays(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseUint(n, 10, 32)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (use 90d, 2w or 36h)", s)
	}
	return d, nil
}
