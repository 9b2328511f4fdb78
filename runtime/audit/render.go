package audit

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

func fmtNS(ns int64) string {
	if ns == 0 {
		return "-"
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339)
}

// WriteSessionsText writes a session list as an aligned table.
func WriteSessionsText(w io.Writer, ss []store.Session) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGENT\tROLE\tCONNECTION\tSTART\tEND\tREASON")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Agent, s.Role, s.Connection, fmtNS(s.Start), fmtNS(s.End), s.EndReason)
	}
	return tw.Flush()
}

// WriteTimelineText writes a session timeline, one line per event.
func WriteTimelineText(w io.Writer, tl *Timeline) error {
	s := tl.Session
	fmt.Fprintf(w, "session %s (gateway %s)\n", s.ID, s.Gateway)
	for _, f := range [][2]string{
		{"agent", s.Agent}, {"subject", s.Subject}, {"issuer", s.Issuer}, {"role", s.Role}, {"grant", s.Grant},
		{"connection", s.Connection}, {"client", s.ClientAddr}, {"bundle", s.BundleRevision},
		{"start", fmtNS(s.Start)}, {"end", fmtNS(s.End)}, {"end reason", s.EndReason},
	} {
		if f[1] != "" && f[1] != "-" {
			fmt.Fprintf(w, "  %-11s %s\n", f[0], f[1])
		}
	}
	fmt.Fprintln(w)
	for _, e := range tl.Entries {
		fmt.Fprintf(w, "%s  #%d  %s\n", e.Time.Format("15:04:05.000"), e.Seq, describe(e.Event))
	}
	return nil
}

func describe(ev *recorder.Event) string {
	var b strings.Builder
	b.WriteString(string(ev.Kind))
	switch {
	case ev.Auth != nil:
		ok := "failed"
		if ev.Auth.OK {
			ok = "ok"
		}
		fmt.Fprintf(&b, " %s %s %s %s", ev.Auth.Method, ok, ev.Auth.Subject, ev.Auth.Reason)
	case ev.Statement != nil:
		fmt.Fprintf(&b, " %q", ev.Statement.Text)
		if len(ev.Repeats) > 0 {
			fmt.Fprintf(&b, " (%d runs)", ev.Runs())
		}
	case ev.Command != nil && ev.Command.Shell:
		b.WriteString(" (shell)")
	case ev.Command != nil:
		fmt.Fprintf(&b, " %q", ev.Command.Text)
	case ev.Terminal != nil:
		fmt.Fprintf(&b, " %s %d bytes", ev.Terminal.Stream, len(ev.Terminal.Data))
	case ev.EndReason != "":
		b.WriteString(" " + ev.EndReason)
	case ev.Note != "":
		b.WriteString(" " + ev.Note)
	}
	if d := ev.Decision; d != nil {
		fmt.Fprintf(&b, " -> %s", d.Result)
		if d.Role != "" {
			fmt.Fprintf(&b, " (role %s, grant %s)", d.Role, d.Grant)
		}
		if d.Source != "" {
			fmt.Fprintf(&b, " [%s]", d.Source)
		}
		if d.Reason != "" {
			fmt.Fprintf(&b, ": %s", d.Reason)
		}
	}
	if r := ev.Result; r != nil {
		fmt.Fprintf(&b, " | rows %d, %d bytes, %s", r.Rows, r.Bytes, r.Duration)
		if r.Masked > 0 {
			fmt.Fprintf(&b, ", %d masked", r.Masked)
		}
		if r.SQLState != "" {
			fmt.Fprintf(&b, ", error %s", r.SQLState)
		}
	}
	if len(ev.Approvals) > 0 {
		fmt.Fprintf(&b, " | approvals %s", strings.Join(ev.Approvals, ","))
	}
	return b.String()
}

// WriteReportText writes a verification report.
func WriteReportText(w io.Writer, rep *Report) error {
	for _, c := range rep.Chains {
		status := "ok"
		if c.Problem != nil {
			status = "FAILED"
		}
		fmt.Fprintf(w, "%s: %s: events %d..%d (%d), %d checkpoints", c.Gateway, status, c.FirstSeq, c.LastSeq, c.Events, c.Checkpoints)
		if c.Anchored && c.FirstSeq > 1 {
			fmt.Fprintf(w, ", anchored by retention at %d", c.FirstSeq-1)
		}
		if c.Unsigned > 0 {
			fmt.Fprintf(w, ", %d recent events not yet covered by a checkpoint", c.Unsigned)
		}
		fmt.Fprintln(w)
		if c.Problem != nil {
			fmt.Fprintf(w, "  first problem: event %d %s: %s\n", c.Problem.Seq, c.Problem.Kind, c.Problem.Detail)
		}
	}
	if len(rep.Chains) == 0 {
		fmt.Fprintln(w, "no events recorded")
	}
	if rep.KeySource == "record" {
		fmt.Fprintln(w, "note: checked with the public keys stored in the record itself; pass --key to check who signed it")
	}
	return nil
}

// WriteUsageMarkdown writes usage as a Markdown report.
func WriteUsageMarkdown(w io.Writer, u *model.Usage) error {
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	fmt.Fprintf(w, "# Usage %s to %s\n\n", day(u.Since), day(u.Until))
	fmt.Fprintf(w, "## Agents\n\n| agent | sessions | first | last |\n|---|---|---|---|\n")
	for _, a := range u.Agents {
		fmt.Fprintf(w, "| %s | %d | %s | %s |\n", a.Agent, a.Sessions, day(a.First), day(a.Last))
	}
	fmt.Fprintf(w, "\n## Grants\n")
	for _, g := range u.Grants {
		fmt.Fprintf(w, "\n### %s: role %s on %s (%s)\n\n%d uses, %s to %s; sessions %s\n\n", g.Agent, g.Role, g.Connection, g.Kind,
			g.Count, day(g.First), day(g.Last), strings.Join(g.SampleSessions, ", "))
		if len(g.Statements) > 0 {
			fmt.Fprintf(w, "| class | table | columns | count | last |\n|---|---|---|---|---|\n")
			for _, s := range g.Statements {
				fmt.Fprintf(w, "| %s | %s | %s | %d | %s |\n", s.Class, s.Table, strings.Join(s.Columns, ", "), s.Count, day(s.Last))
			}
		}
		if len(g.Commands) > 0 {
			fmt.Fprintf(w, "| command | count | last |\n|---|---|---|\n")
			for _, c := range g.Commands {
				fmt.Fprintf(w, "| `%s` | %d | %s |\n", strings.ReplaceAll(c.Command, "|", "\\|"), c.Count, day(c.Last))
			}
		}
	}
	if len(u.Approvals) > 0 {
		fmt.Fprintf(w, "\n## Approvals\n\n| agent | role | connection | statement or command | approved | last |\n|---|---|---|---|---|---|\n")
		for _, a := range u.Approvals {
			what := strings.TrimSpace(a.Class + " " + a.Table + " " + a.Command)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s |\n", a.Agent, a.Role, a.Connection, what, a.Approved, day(a.Last))
		}
	}
	return nil
}
