package compiler

import (
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits that keep loading bounded in time and memory whatever the input.
const (
	// MaxFileBytes is the largest policy file the loader reads.
	MaxFileBytes = 8 << 20
	// MaxFiles is the most *.hcl files one repository may hold.
	MaxFiles = 10000
	// MaxTotalBytes caps the sum of all file sizes.
	MaxTotalBytes = 256 << 20
	// MaxNesting is the deepest bracket nesting accepted in a file.
	MaxNesting = 64
)

// readFile reads one file, refusing files over MaxFileBytes without reading
// them whole. name is the diagnostic file name.
func readFile(path, name string) ([]byte, hcl.Diagnostics) {
	f, err := os.Open(path)
	if err != nil {
		return nil, hcl.Diagnostics{fileDiag(name, "Failed to read file", fmt.Sprintf("The file could not be opened: %s.", err))}
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, hcl.Diagnostics{fileDiag(name, "Failed to read file", fmt.Sprintf("The file could not be read: %s.", err))}
	}
	if len(src) > MaxFileBytes {
		return nil, hcl.Diagnostics{fileDiag(name, "File too large",
			fmt.Sprintf("Policy files may be at most %d MiB; split the policy over several files.", MaxFileBytes>>20))}
	}
	return src, nil
}

func fileDiag(name, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  &hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos},
	}
}

// parseFile checks encoding and nesting before handing src to the HCL
// parser, so that hostile input cannot exhaust the stack.
func parseFile(src []byte, name string) (file *hcl.File, diags hcl.Diagnostics) {
	if !utf8.Valid(src) {
		pos := badUTF8Pos(src)
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid UTF-8",
			Detail:   "Policy files must be UTF-8 text. Re-save the file as UTF-8 and remove any binary content.",
			Subject:  &hcl.Range{Filename: name, Start: pos, End: pos},
		}}
	}
	pos, ok := checkNesting(src)
	if ok {
		pos, ok = checkRawNesting(src)
	}
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Nesting too deep",
			Detail:   fmt.Sprintf("Brackets, braces and parentheses may nest at most %d levels deep.", MaxNesting),
			Subject:  &hcl.Range{Filename: name, Start: pos, End: pos},
		}}
	}
	defer func() {
		if r := recover(); r != nil {
			file = nil
			diags = hcl.Diagnostics{fileDiag(name, "Failed to parse file", fmt.Sprintf("The HCL parser failed: %v.", r))}
		}
	}()
	return hclsyntax.ParseConfig(src, name, hcl.InitialPos)
}

// maxRawNesting bounds bracket depth counted without regard to strings,
// comments or heredocs, a backstop for input that confuses checkNesting's
// approximate lexer. Legitimate files stay far below it.
const maxRawNesting = 1000

func checkRawNesting(src []byte) (hcl.Pos, bool) {
	depth := 0
	for i, c := range src {
		switch c {
		case '{', '[', '(':
			depth++
			if depth > maxRawNesting {
				return posAt(src, i), false
			}
		case '}', ']', ')':
			if depth > 0 {
				depth--
			}
		}
	}
	return hcl.Pos{}, true
}

// posAt is the position of byte offset off.
func posAt(src []byte, off int) hcl.Pos {
	pos := hcl.InitialPos
	for i := 0; i < off; i++ {
		advance(&pos, src[i], 1)
	}
	return pos
}

// badUTF8Pos is the position of the first invalid UTF-8 sequence.
func badUTF8Pos(src []byte) hcl.Pos {
	pos := hcl.InitialPos
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		advance(&pos, src[i], n)
		i += n
	}
	return pos
}

func advance(p *hcl.Pos, b byte, n int) {
	p.Byte += n
	if n == 1 && b&0xC0 == 0x80 {
		return // a UTF-8 continuation byte: same column
	}
	if b == '\n' {
		p.Line++
		p.Column = 1
		return
	}
	p.Column++
}

// checkNesting scans src for bracket depth, skipping comments and the
// literal parts of quoted strings (interpolations still count). It reports
// the position where depth first exceeds MaxNesting.
func checkNesting(src []byte) (hcl.Pos, bool) {
	pos := hcl.InitialPos
	// stack holds 'b' for a bracket and 'i' for a string interpolation,
	// whose closing brace returns to the string.
	stack := make([]byte, 0, MaxNesting+1)
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case inString && c == '\\' && i+1 < len(src):
			advance(&pos, c, 1)
			i++
			c = src[i]
		case inString && c == '"':
			inString = false
		case inString && (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
			advance(&pos, c, 1)
			i++
			c = src[i]
			stack = append(stack, 'i')
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '#' || (c == '/' && i+1 < len(src) && src[i+1] == '/'):
			for i+1 < len(src) && src[i+1] != '\n' {
				advance(&pos, c, 1)
				i++
				c = src[i]
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			for i+1 < len(src) && !(src[i] == '*' && src[i+1] == '/') {
				advance(&pos, c, 1)
				i++
				c = src[i]
			}
		case c == '{' || c == '[' || c == '(':
			stack = append(stack, 'b')
		case c == '}' || c == ']' || c == ')':
			if n := len(stack); n > 0 {
				inString = stack[n-1] == 'i'
				stack = stack[:n-1]
			}
		}
		if len(stack) > MaxNesting {
			return pos, false
		}
		advance(&pos, c, 1)
	}
	return pos, true
}
