// Package review is the recertification bot: it compares what each role
// grants with what agents actually did through the gateway (model.Usage),
// proposes exact tightenings as hclwrite edits of the policy repository,
// writes the evidence (Markdown report, SVG charts, the signed usage
// export), commits it on a branch with go-git and opens or updates a pull
// request through the GitHub REST API.
//
// The steps, one file each: due.go (DueRoles: which roles are due),
// propose.go, grants.go and proposals.go (Propose: usage against grants ->
// Plan, RoleReview, Proposal), edit.go, listedit.go and editor.go (EditFile,
// Editor: hclwrite edits that keep comments and layout), report.go and
// chart.go (Evidence: Markdown report and SVG charts), usage.go (ParseUsage,
// FetchUsage, ParsePublicKey), git.go (Commit, Push), github.go (GitHub:
// EnsurePR), run.go (Build, WriteOut, OpenPR: the whole run per role).
package review
