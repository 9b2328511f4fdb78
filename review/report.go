package review

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// ReportDir is where evidence is committed, relative to the policy directory.
const ReportDir = "reviews"

// Evidence is what one role's review commits beside its edits.
type Evidence struct {
	Plan   *Plan
	Role   *RoleReview
	Manual []Manual
	Usage  *Loaded
}

// base is the file name stem shared by a role's evidence files.
func (e *Evidence) base() string { return safeName(e.Role.Role) + "-" + e.Plan.Date }

// ReportPath is the report's path relative to the policy directory.
func (e *Evidence) ReportPath() string { return path.Join(ReportDir, e.base()+".md") }

// UsagePath is where the usage export is committed.
func (e *Evidence) UsagePath() string { return path.Join(ReportDir, e.base()+"-usage.json") }

// ChartPath is the chart of one grant.
func (e *Evidence) ChartPath(g GrantReview) string {
	return path.Join(ReportDir, e.base()+"-"+g.Kind+"-"+safeName(g.Connection)+".svg")
}

// Files returns every evidence file (report, charts, usage export) keyed by
// path relative to the policy directory.
func (e *Evidence) Files() map[string][]byte {
	files := map[string][]byte{e.ReportPath(): e.Markdown("")}
	for _, g := range e.Role.Grants {
		files[e.ChartPath(g)] = Chart(g, e.Plan.Since, e.Plan.Until, e.Role.WindowStart)
	}
	if e.Usage != nil && len(e.Usage.Raw) > 0 {
		files[e.UsagePath()] = e.Usage.Raw
	}
	return files
}

// Title is the commit subject and pull request title.
func (e *Evidence) Title() string {
	return fmt.Sprintf("Recertify role %s (%s)", e.Role.Role, e.Plan.Date)
}

// Markdown renders the report. Chart images are linked relative to the
// report unless assetBase (a URL prefix ending in "/") is given, which the
// pull request body needs.
func (e *Evidence) Markdown(assetBase string) []byte {
	r, p := e.Role, e.Plan
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Recertification of role `%s`, %s\n\n", r.Role, p.Date)
	if r.Description != "" {
		w("> %s\n\n", oneLine(r.Description))
	}
	switch {
	case r.Forced && r.DueDate.IsZero():
		w("Review requested with `--role`; the role has no review cadence.\n")
	case r.Forced:
		w("Review requested with `--role`; the role is due on %s.\n", day(r.DueDate))
	case r.Overdue:
		w("**The review is overdue**: it was due on %s.\n", day(r.DueDate))
	default:
		w("The review is due on %s.\n", day(r.DueDate))
	}
	w("Declared in `%s:%d`. Usage from %s to %s; a grant counts as used when it allowed something since %s (unused_after %s).\n\n",
		r.Source.File, r.Source.Line, day(p.Since), day(p.Until), day(r.WindowStart), formatDuration(r.UnusedAfter))
	e.writeEvidenceLine(&b)

	w("## Proposed changes\n\n")
	if len(r.Proposals) == 0 {
		w("None.\n\n")
	} else {
		w("| # | change | where | why |\n|---|---|---|---|\n")
		for i, pr := range r.Proposals {
			w("| %d | %s | `%s:%d` | %s |\n", i+1, Describe(pr), pr.Source.File, pr.Source.Line, cell(pr.Reason))
		}
		w("\n")
	}
	if len(e.Manual) > 0 {
		w("### Changes to make by hand\n\nThe bot could not write these as edits:\n\n")
		for _, m := range e.Manual {
			w("- %s (`%s:%d`): %s\n", Describe(m.Proposal), m.Proposal.Source.File, m.Proposal.Source.Line, oneLine(m.Why))
		}
		w("\n")
	}

	w("## Usage by grant\n\n")
	if len(r.Grants) == 0 {
		w("The role has no grants.\n\n")
	}
	for _, g := range r.Grants {
		w("### %s `%s`\n\n", g.Kind, g.Connection)
		if !g.Used {
			w("**Unused** since %s. Declared in `%s:%d`.", day(r.WindowStart), g.Source.File, g.Source.Line)
			if g.Count > 0 {
				w(" Used %d times before that, last %s.", g.Count, stamp(g.Last))
			}
			w("\n\n")
		} else {
			w("%d uses by %s, first %s, last %s. Declared in `%s:%d`.", g.Count, code(g.Agents), stamp(g.First), stamp(g.Last), g.Source.File, g.Source.Line)
			if len(g.Samples) > 0 {
				w(" Sample sessions: %s.", code(g.Samples))
			}
			w("\n\n")
		}
		chart := path.Base(e.ChartPath(g))
		if assetBase != "" {
			chart = assetBase + chart
		}
		w("![usage of %s %s](%s)\n\n", g.Kind, g.Connection, chart)
		w("| field | entry | used | count | first use | last use | tables, classes or columns | sample sessions |\n|---|---|---|---|---|---|---|---|\n")
		for _, en := range g.Entries {
			used := "yes"
			if !en.Used {
				used = "**no**"
			}
			detail := en.Matched
			if len(detail) == 0 {
				detail = en.Columns
			}
			w("| %s | %s | %s | %d | %s | %s | %s | %s |\n", singularField(en.Field), code([]string{en.Value}), used, en.Count,
				stamp(en.First), stamp(en.Last), code(detail), code(en.Samples))
		}
		w("\n")
	}

	w("## Agents holding the role\n\n")
	if len(r.Agents) == 0 {
		w("No agent holds the role.\n\n")
	} else {
		w("| agent | sessions | last session | used the role |\n|---|---|---|---|\n")
		for _, a := range r.Agents {
			used := "yes"
			if !a.UsedRole {
				used = "**no**"
			}
			w("| `%s` | %d | %s | %s |\n", a.Agent, a.Sessions, stamp(a.Last), used)
		}
		w("\n")
	}
	if len(r.Baseline) > 0 {
		w("## Baseline candidates\n\nHumans approved these requests often. Consider granting them in the role; the bot never adds them.\n\n")
		w("| agent | connection | request | approvals | last approved |\n|---|---|---|---|---|\n")
		for _, a := range r.Baseline {
			req := a.Command
			if req == "" {
				req = strings.TrimSpace(a.Class + " " + a.Table)
			}
			w("| `%s` | `%s` | %s | %d | %s |\n", a.Agent, a.Connection, code([]string{req}), a.Approved, stamp(a.Last))
		}
		w("\n")
	}
	if len(r.Notes) > 0 {
		w("## Notes\n\n")
		for _, n := range r.Notes {
			w("- %s\n", oneLine(n))
		}
		w("\n")
	}
	w("## How to review\n\nApprove and merge to recertify the role: CI compiles and signs the new bundle and the gateway loads it, which clears the overdue status. Push changes to this branch to keep a grant the bot proposes to remove. The proposal is exact: nothing used since %s is removed, and everything unused since then is proposed for removal.\n",
		day(r.WindowStart))
	return []byte(b.String())
}

func (e *Evidence) writeEvidenceLine(b *strings.Builder) {
	u := e.Usage
	switch {
	case u == nil:
	case u.Signed != nil && u.Verified:
		fmt.Fprintf(b, "Evidence: the signed usage export [`%s`](%s) (key `%s`, signature verified). Check it with `mandate audit verify`.\n\n", path.Base(e.UsagePath()), path.Base(e.UsagePath()), u.Signed.KeyID)
	case u.Signed != nil:
		fmt.Fprintf(b, "Evidence: the signed usage export [`%s`](%s) (key `%s`; the bot was given no key, so check the signature with `mandate audit verify`).\n\n", path.Base(e.UsagePath()), path.Base(e.UsagePath()), u.Signed.KeyID)
	default:
		fmt.Fprintf(b, "Evidence: the usage [`%s`](%s). **It is not signed**; ask for a signed export before relying on it.\n\n", path.Base(e.UsagePath()), path.Base(e.UsagePath()))
	}
}

// Describe says what a proposal changes, in one line of Markdown.
func Describe(p Proposal) string {
	grant := fmt.Sprintf("%s `%s`", p.GrantKind, p.Connection)
	switch p.Kind {
	case RemoveGrant:
		return "remove the grant " + grant
	case RemoveStatement:
		return fmt.Sprintf("remove statement class `%s` from %s", p.Value, grant)
	case NarrowStatements:
		return fmt.Sprintf("narrow statements `%s` of %s to %s", p.Value, grant, code(p.Replacement))
	case RemoveTable:
		return fmt.Sprintf("remove table `%s` from %s", p.Value, grant)
	case NarrowTable:
		return fmt.Sprintf("narrow `%s` in %s to %s", p.Value, grant, code(p.Replacement))
	case RemoveCommand:
		return fmt.Sprintf("remove command %s from %s", code([]string{p.Value}), grant)
	case RemoveAgent:
		return fmt.Sprintf("remove agent `%s`", p.Agent)
	case RemoveAgentRole:
		return fmt.Sprintf("remove role `%s` from agent `%s`", p.Role, p.Agent)
	case SetLastReviewed:
		return fmt.Sprintf("set `last_reviewed` to `%s`", p.Value)
	}
	return string(p.Kind)
}

// code writes values as inline code spans, safe inside a table cell.
func code(vals []string) string {
	if len(vals) == 0 {
		return "-"
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		v = strings.ReplaceAll(oneLine(v), "|", `\|`)
		fence := "`"
		if strings.Contains(v, "`") {
			fence = "`` "
			out[i] = fence + v + " ``"
			continue
		}
		out[i] = fence + v + fence
	}
	return strings.Join(out, ", ")
}

func cell(s string) string { return strings.ReplaceAll(oneLine(s), "|", `\|`) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

// safeName keeps a name usable in a file or branch name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, s)
}
