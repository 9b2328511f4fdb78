package review

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RoleOutput is everything one role's review produces: the branch name, the
// edited policy files and the evidence, ready to commit or write out.
type RoleOutput struct {
	Review   *RoleReview `json:"review"`
	Branch   string      `json:"branch"`
	Title    string      `json:"title"`
	Message  string      `json:"commit_message"`
	Manual   []Manual    `json:"manual,omitempty"`
	Evidence *Evidence   `json:"-"`
	// Files are the edited policy files and the evidence, keyed by path
	// relative to the policy directory.
	Files map[string][]byte `json:"-"`
	// Edited lists the policy files the edits change.
	Edited []string `json:"edited_files"`
	// PR is set once a pull request was opened or updated.
	PR *PullRequest `json:"pull_request,omitempty"`
}

// Build applies each role's proposals to the files under dir and gathers
// its evidence. Nothing is written.
func Build(dir string, plan *Plan, usage *Loaded) ([]*RoleOutput, error) {
	var out []*RoleOutput
	ed := NewEditor(dir)
	for i := range plan.Roles {
		rr := &plan.Roles[i]
		edits, err := ed.Edit(rr.Proposals)
		if err != nil {
			return nil, fmt.Errorf("editing role %s: %w", rr.Role, err)
		}
		ev := &Evidence{Plan: plan, Role: rr, Manual: edits.Manual, Usage: usage}
		ro := &RoleOutput{Review: rr, Evidence: ev, Manual: edits.Manual, Files: ev.Files(),
			Branch: "recert/" + safeName(rr.Role) + "-" + plan.Date, Title: ev.Title()}
		for _, name := range sortedKeys(edits.Files) {
			ro.Files[name] = edits.Files[name]
			ro.Edited = append(ro.Edited, name)
		}
		ro.Message = commitMessage(ro)
		out = append(out, ro)
	}
	return out, nil
}

func commitMessage(ro *RoleOutput) string {
	var b strings.Builder
	p := ro.Evidence.Plan
	fmt.Fprintf(&b, "%s\n\nProposed by mandate review from the usage recorded %s to %s:\n\n", ro.Title, day(p.Since), day(p.Until))
	for _, pr := range ro.Review.Proposals {
		fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(Describe(pr), "`", ""))
	}
	for _, m := range ro.Manual {
		fmt.Fprintf(&b, "- (by hand) %s\n", strings.ReplaceAll(Describe(m.Proposal), "`", ""))
	}
	fmt.Fprintf(&b, "\nEvidence: %s\n", ro.Evidence.ReportPath())
	return b.String()
}

// WriteOut writes a role's files under dir, creating directories.
func WriteOut(dir string, ro *RoleOutput) error {
	for _, name := range sortedKeys(ro.Files) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		if err := os.WriteFile(p, ro.Files[name], 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}

// maxPRBody leaves room under GitHub's 65,536-character body limit.
const maxPRBody = 60000

// PublishOptions configure OpenPR.
type PublishOptions struct {
	Git    GitOptions
	GitHub *GitHub
	// Owner and Repo name the GitHub repository; read from the remote URL
	// when empty.
	Owner, Repo string
	// Base is the branch the pull request merges into. Default "main".
	Base string
	// Labels are added to the pull request. Default ["recertification"].
	Labels []string
}

// OpenPR commits a role's files on its branch, pushes it and opens (or
// updates) its pull request.
func OpenPR(ctx context.Context, o PublishOptions, ro *RoleOutput) error {
	if o.Base == "" {
		o.Base = "main"
	}
	if o.Labels == nil {
		o.Labels = []string{"recertification"}
	}
	if o.Owner == "" || o.Repo == "" {
		url, err := RemoteURL(o.Git.Dir, o.Git.Remote)
		if err != nil {
			return err
		}
		if o.Owner, o.Repo, err = ParseGitHubRemote(url); err != nil {
			return err
		}
	}
	// An open pull request from an earlier run (another day) is updated:
	// its branch receives this run's commit.
	prev, err := o.GitHub.FindOpenPRWithPrefix(ctx, o.Owner, o.Repo, "recert/"+safeName(ro.Review.Role)+"-")
	if err != nil {
		return fmt.Errorf("looking for an open pull request of role %s: %w", ro.Review.Role, err)
	}
	if prev != nil {
		ro.Branch = prev.Head.Ref
	}
	c, err := Commit(o.Git, ro.Branch, ro.Message, ro.Files, ro.Edited)
	if err != nil {
		return err
	}
	if err := Push(ctx, o.Git, ro.Branch); err != nil {
		return err
	}
	assets := webBase(o.GitHub.BaseURL) + "/" + o.Owner + "/" + o.Repo + "/raw/" + ro.Branch + "/"
	if c.RepoDir != "" {
		assets += c.RepoDir + "/"
	}
	assets += ReportDir + "/"
	body := string(ro.Evidence.Markdown(assets))
	if len(body) > maxPRBody {
		// GitHub refuses bodies over 65,536 characters; the full report is
		// in the branch.
		cut := strings.LastIndex(body[:maxPRBody], "\n")
		body = body[:max(cut, 0)] + fmt.Sprintf("\n\n**The report is longer than a pull request body allows; read it in full in [`%s`](%s).**\n",
			ro.Evidence.ReportPath(), strings.TrimSuffix(assets, ReportDir+"/")+ro.Evidence.ReportPath())
	}
	pr, _, err := o.GitHub.EnsurePR(ctx, PRRequest{Owner: o.Owner, Repo: o.Repo, Head: ro.Branch, Base: o.Base,
		Title: ro.Title, Body: body, Reviewers: ro.Review.Reviewers, Labels: o.Labels})
	ro.PR = pr
	if err != nil {
		return fmt.Errorf("opening pull request for %s: %w", ro.Branch, err)
	}
	return nil
}

// webBase turns an API base URL into the web host: api.github.com becomes
// github.com, and GitHub Enterprise's https://HOST/api/v3 becomes https://HOST.
func webBase(api string) string {
	if api == "" || strings.TrimRight(api, "/") == DefaultGitHubAPI {
		return "https://github.com"
	}
	api = strings.TrimRight(api, "/")
	return strings.TrimSuffix(api, "/api/v3")
}
