package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Write prints r in format: text, markdown (a pull-request comment) or json.
func Write(w io.Writer, r *Report, format string) error {
	var b strings.Builder
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "text":
		fmt.Fprintf(&b, "Effective access from %s to %s:\n", r.Old, r.New)
		if r.Empty() {
			b.WriteString("  no change\n")
		}
		for _, a := range r.AddedAgents {
			fmt.Fprintf(&b, "  + agent %s is new\n", a)
		}
		for _, a := range r.RemovedAgents {
			fmt.Fprintf(&b, "  - agent %s is removed\n", a)
		}
		for _, c := range r.Changes {
			fmt.Fprintf(&b, "  %s %s\n", sign(c), c.Sentence())
		}
	case "markdown":
		fmt.Fprintf(&b, "### mandate: effective access changes\n\nFrom `%s` to `%s`.\n\n", r.Old, r.New)
		if r.Empty() {
			b.WriteString("No agent gains or loses access.\n")
			break
		}
		for _, a := range r.AddedAgents {
			fmt.Fprintf(&b, "- :new: agent **%s** is new\n", a)
		}
		for _, a := range r.RemovedAgents {
			fmt.Fprintf(&b, "- :wastebasket: agent **%s** is removed\n", a)
		}
		agent := ""
		for _, c := range r.Changes {
			if c.Agent != agent {
				agent = c.Agent
				fmt.Fprintf(&b, "\n**%s**\n\n", agent)
			}
			fmt.Fprintf(&b, "- %s %s\n", map[string]string{"+": "➕", "-": "➖"}[sign(c)], markdownEscape(c.Sentence()))
		}
	default:
		return fmt.Errorf("unknown format %q (want text, markdown or json)", format)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sign is + for more access and - for less: gaining a masking is less.
func sign(c Change) string {
	more := c.Change == "gains"
	if c.Kind == "masking" {
		more = !more
	}
	if more {
		return "+"
	}
	return "-"
}

// markdownEscape escapes Markdown outside `code spans`.
func markdownEscape(s string) string {
	r := strings.NewReplacer("*", "\\*", "_", "\\_", "<", "&lt;", ">", "&gt;", "|", "\\|")
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = r.Replace(parts[i])
	}
	return strings.Join(parts, "`")
}
