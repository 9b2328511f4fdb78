package compiler

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// JSONDiagnostic is one diagnostic in WriteDiagnostics' json format.
type JSONDiagnostic struct {
	Severity  string `json:"severity"` // error or warning
	Summary   string `json:"summary"`
	Detail    string `json:"detail,omitempty"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	Column    int    `json:"column,omitempty"`
	EndLine   int    `json:"end_line,omitempty"`
	EndColumn int    `json:"end_column,omitempty"`
}

// WriteDiagnostics prints diags in format: text (Terraform-style: summary,
// file:line:col, a source snippet with the subject underlined, detail), json (a list of JSONDiagnostic) or github (workflow
// command annotations, with file paths relative to the working directory).
func WriteDiagnostics(w io.Writer, repo *Repo, diags hcl.Diagnostics, format string) error {
	files := map[string]*hcl.File{}
	dir := ""
	if repo != nil {
		files, dir = repo.Files, repo.Dir
	}
	switch format {
	case "", "text":
		for _, d := range diags {
			if _, err := io.WriteString(w, textDiag(d, files, dir)); err != nil {
				return fmt.Errorf("writing diagnostic: %w", err)
			}
		}
		return nil
	case "json":
		out := make([]JSONDiagnostic, 0, len(diags))
		for _, d := range diags {
			out = append(out, toJSON(d))
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "github":
		for _, d := range diags {
			if _, err := io.WriteString(w, githubLine(d, dir)); err != nil {
				return fmt.Errorf("writing annotation: %w", err)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown diagnostics format %q (want text, json or github)", format)
}

func toJSON(d *hcl.Diagnostic) JSONDiagnostic {
	j := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
	if d.Severity == hcl.DiagWarning {
		j.Severity = "warning"
	}
	if s := d.Subject; s != nil {
		j.File, j.Line, j.Column, j.EndLine, j.EndColumn = s.Filename, s.Start.Line, s.Start.Column, s.End.Line, s.End.Column
	}
	return j
}

func githubLine(d *hcl.Diagnostic, dir string) string {
	kind := "error"
	if d.Severity == hcl.DiagWarning {
		kind = "warning"
	}
	var props []string
	if s := d.Subject; s != nil && s.Filename != "" {
		props = append(props,
			"file="+ghProp(filepath.ToSlash(filepath.Join(dir, filepath.FromSlash(s.Filename)))),
			fmt.Sprintf("line=%d", s.Start.Line), fmt.Sprintf("col=%d", s.Start.Column),
			fmt.Sprintf("endLine=%d", s.End.Line), fmt.Sprintf("endColumn=%d", s.End.Column))
	}
	props = append(props, "title="+ghProp(d.Summary))
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	return "::" + kind + " " + strings.Join(props, ",") + "::" + ghData(msg) + "\n"
}

// ghData and ghProp escape workflow command values as the GitHub Actions
// toolkit does.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// maxSnippetLines caps the source lines printed under a text diagnostic.
const maxSnippetLines = 3

// textDiag renders one diagnostic for a terminal. File paths are joined
// with the repository directory so that editors can open them.
func textDiag(d *hcl.Diagnostic, files map[string]*hcl.File, dir string) string {
	var b strings.Builder
	if d.Severity == hcl.DiagWarning {
		b.WriteString("Warning: ")
	} else {
		b.WriteString("Error: ")
	}
	b.WriteString(d.Summary)
	b.WriteString("\n\n")
	if s := d.Subject; s != nil {
		path := s.Filename
		if dir != "" && path != "" {
			path = filepath.ToSlash(filepath.Join(dir, filepath.FromSlash(path)))
		}
		fmt.Fprintf(&b, "  on %s:%d:%d:\n", path, s.Start.Line, s.Start.Column)
		if f := files[s.Filename]; f != nil {
			writeSnippet(&b, f.Bytes, *s)
		}
		b.WriteString("\n")
	}
	if d.Detail != "" {
		b.WriteString(d.Detail)
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}

// writeSnippet prints the subject's source lines with the subject
// underlined on its first line.
func writeSnippet(b *strings.Builder, src []byte, rng hcl.Range) {
	if rng.Start.Byte > len(src) {
		return
	}
	start := rng.Start.Byte
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	line := rng.Start.Line
	width := len(fmt.Sprint(rng.Start.Line + maxSnippetLines))
	for n := 0; n < maxSnippetLines && start < len(src) && line <= max(rng.End.Line, rng.Start.Line); n++ {
		end := start
		for end < len(src) && src[end] != '\n' && end-start < 200 {
			end++
		}
		text := strings.TrimRight(string(src[start:end]), "\r")
		fmt.Fprintf(b, "  %*d: %s\n", width, line, text)
		if n == 0 {
			from := rng.Start.Byte - start
			to := len(text)
			if rng.End.Line == rng.Start.Line {
				to = min(to, rng.End.Byte-start)
			}
			if to <= from && from < len(text) {
				to = from + 1
			}
			if to > from {
				// Keep tabs so the carets line up under the source.
				pad := strings.Map(func(r rune) rune {
					if r == '\t' {
						return r
					}
					return ' '
				}, text[:from])
				fmt.Fprintf(b, "  %*s  %s%s\n", width, "", pad, strings.Repeat("^", len([]rune(text[from:to]))))
			}
		}
		for end < len(src) && src[end] != '\n' {
			end++
		}
		start = end + 1
		line++
	}
}
