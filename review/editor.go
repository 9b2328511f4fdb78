package review

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Editor applies proposals to the files of one policy directory. It reads
// and indexes each file once, so that reviewing many roles parses only the
// top-level blocks each role touches, not the whole file per role.
type Editor struct {
	dir   string
	files map[string]*indexedFile
}

// indexedFile is a file's bytes and the byte span of each top-level block,
// from the end of the previous block (so the span carries the block's lead
// comments and the blank lines before it) to the end of the block's line.
type indexedFile struct {
	src   []byte
	spans map[[2]string][2]int // {type, label} -> [start, end)
	whole bool                 // not indexable: edit the file as a whole
}

// NewEditor returns an Editor for the policy directory dir.
func NewEditor(dir string) *Editor { return &Editor{dir: dir, files: map[string]*indexedFile{}} }

// Edit applies proposals to the policy files under dir. Files are read from
// dir and never written; see Edits.Files.
func Edit(dir string, props []Proposal) (*Edits, error) { return NewEditor(dir).Edit(props) }

// Edit applies proposals; see the package function Edit.
func (e *Editor) Edit(props []Proposal) (*Edits, error) {
	byFile := map[string][]Proposal{}
	res := &Edits{Files: map[string][]byte{}}
	for _, p := range props {
		if p.Source.File == "" {
			res.Manual = append(res.Manual, Manual{p, "the compiled policy does not say which file declares it"})
			continue
		}
		byFile[p.Source.File] = append(byFile[p.Source.File], p)
	}
	for _, file := range sortedKeys(byFile) {
		f, err := e.file(file)
		if err != nil {
			return nil, err
		}
		out, manual, err := f.edit(file, byFile[file])
		if err != nil {
			return nil, err
		}
		res.Manual = append(res.Manual, manual...)
		if !bytes.Equal(out, f.src) {
			res.Files[file] = out
		}
	}
	return res, nil
}

func (e *Editor) file(name string) (*indexedFile, error) {
	if f, ok := e.files[name]; ok {
		return f, nil
	}
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return nil, fmt.Errorf("editing %s: the path leaves the policy directory", name)
	}
	src, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(name)))
	if err != nil {
		return nil, fmt.Errorf("editing policy: %w", err)
	}
	f := &indexedFile{src: src, spans: map[[2]string][2]int{}}
	file, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	body, ok := file.Body.(*hclsyntax.Body)
	if diags.HasErrors() || !ok {
		f.whole = true
	} else {
		prev := 0
		for _, b := range body.Blocks {
			end := b.Range().End.Byte
			if i := bytes.IndexByte(src[end:], '\n'); i >= 0 {
				end += i + 1
			} else {
				end = len(src)
			}
			if len(b.Labels) == 1 {
				key := [2]string{b.Type, b.Labels[0]}
				if _, dup := f.spans[key]; dup {
					f.whole = true
				}
				f.spans[key] = [2]int{prev, end}
			}
			prev = end
		}
	}
	e.files[name] = f
	return f, nil
}

// topKey is the top-level block a proposal edits.
func topKey(p Proposal) [2]string {
	if p.Kind == RemoveAgent || p.Kind == RemoveAgentRole {
		return [2]string{"agent", p.Agent}
	}
	return [2]string{"role", p.Role}
}

// edit applies props to the spans of the blocks they touch and splices the
// results back between the untouched bytes.
func (f *indexedFile) edit(name string, props []Proposal) ([]byte, []Manual, error) {
	if f.whole {
		return EditFile(f.src, name, props)
	}
	byBlock := map[[2]string][]Proposal{}
	var manual []Manual
	for _, p := range props {
		k := topKey(p)
		if _, ok := f.spans[k]; !ok {
			manual = append(manual, Manual{p, fmt.Sprintf("block %s %q was not found in %s", k[0], k[1], name)})
			continue
		}
		byBlock[k] = append(byBlock[k], p)
	}
	keys := make([][2]string, 0, len(byBlock))
	for k := range byBlock {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return f.spans[a][0] - f.spans[b][0] })
	var out bytes.Buffer
	prev := 0
	for _, k := range keys {
		sp := f.spans[k]
		seg, m, err := EditFile(f.src[sp[0]:sp[1]], name, byBlock[k])
		if err != nil {
			return nil, nil, err
		}
		manual = append(manual, m...)
		out.Write(f.src[prev:sp[0]])
		out.Write(seg)
		prev = sp[1]
	}
	out.Write(f.src[prev:])
	res := out.Bytes()
	// A removed first block leaves the blank line that followed it.
	if len(res) > 0 && res[0] == '\n' && len(f.src) > 0 && f.src[0] != '\n' {
		res = bytes.TrimLeft(res, "\n")
	}
	return res, manual, nil
}
