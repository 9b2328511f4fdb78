package explain

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints r for a terminal: per item the verdict, the reason, the
// deciding policy block and what the session runs with.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	for i, it := range r.Items {
		if i > 0 {
			b.WriteString("\n")
		}
		if it.Text != "" {
			fmt.Fprintf(&b, "%s\n", it.Text)
		}
		d := it.Decision
		fmt.Fprintf(&b, "  %s: %s\n", strings.ToUpper(strings.ReplaceAll(d.Result, "_", " ")), d.Reason)
		if d.Source != nil {
			fmt.Fprintf(&b, "  decided by: %s:%d:%d\n", d.Source.File, d.Source.Line, d.Source.Column)
		}
		if d.Role != "" {
			fmt.Fprintf(&b, "  role: %s (grant on %s)\n", d.Role, d.Grant)
		}
		if len(d.Masking) > 0 {
			fmt.Fprintf(&b, "  masking: %s\n", strings.Join(d.Masking, ", "))
		}
		if d.ReadOnly {
			b.WriteString("  read-only transactions\n")
		}
		if len(d.Overdue) > 0 {
			fmt.Fprintf(&b, "  overdue reviews: %s\n", strings.Join(d.Overdue, ", "))
		}
		if d.Hint != "" {
			fmt.Fprintf(&b, "  hint: %s\n", d.Hint)
		}
	}
	fmt.Fprintf(&b, "\npolicy revision %s\n", r.Revision)
	_, err := io.WriteString(w, b.String())
	return err
}
