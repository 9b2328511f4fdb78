package diff

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hashicorp/hcl/v2"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/model"
)

// maxRevisionBytes bounds what LoadRevision copies out of one revision.
const maxRevisionBytes = 256 << 20

// LoadRevision loads the policy directory dir as it was at the git revision
// rev (a commit, branch, tag or expression go-git resolves, such as
// HEAD~1): the files under dir in that commit are copied into a temporary
// directory and loaded there. Diagnostics name files relative to dir.
func LoadRevision(dir, rev string, opts compiler.Options) (*model.Policy, hcl.Diagnostics, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("resolving %s: %w", dir, err)
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, nil, fmt.Errorf("opening git repository of %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, nil, fmt.Errorf("opening worktree of %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return nil, nil, fmt.Errorf("resolving worktree root: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("resolving %s: %w", dir, err)
	}
	prefix, err := filepath.Rel(root, real)
	if err != nil {
		return nil, nil, fmt.Errorf("locating %s in its repository: %w", dir, err)
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, nil, fmt.Errorf("resolving revision %q: %w", rev, err)
	}
	commit, err := repo.CommitObject(*hash)
	if err != nil {
		return nil, nil, fmt.Errorf("reading commit %s: %w", hash, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, nil, fmt.Errorf("reading tree of %s: %w", hash, err)
	}
	if prefix = filepath.ToSlash(prefix); prefix != "." {
		if tree, err = tree.Tree(prefix); err != nil {
			return nil, nil, fmt.Errorf("reading %s at %s: %w", prefix, rev, err)
		}
	}
	tmp, err := os.MkdirTemp("", "mandate-diff-*")
	if err != nil {
		return nil, nil, fmt.Errorf("creating temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := extract(tree, tmp); err != nil {
		return nil, nil, fmt.Errorf("extracting %s at %s: %w", prefix, rev, err)
	}
	repoAt, diags := compiler.Load(tmp, opts)
	if diags.HasErrors() {
		return nil, diags, fmt.Errorf("%s at %s is invalid", dir, rev)
	}
	return repoAt.Policy, diags, nil
}

// extract writes the regular files of tree under dst.
func extract(tree *object.Tree, dst string) error {
	var total int64
	return tree.Files().ForEach(func(f *object.File) error {
		if !f.Mode.IsFile() {
			return nil
		}
		if strings.Contains(f.Name, "..") {
			return fmt.Errorf("unsafe path %q", f.Name)
		}
		if total += f.Size; total > maxRevisionBytes {
			return errors.New("revision larger than 256 MiB")
		}
		p := filepath.Join(dst, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		out, err := os.Create(p)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
