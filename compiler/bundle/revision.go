package bundle

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
)

// DirtySuffix marks a revision whose policy files differ from the commit.
const DirtySuffix = "+dirty"

// Revision returns the git commit of the repository holding dir (searched
// upwards), with DirtySuffix appended when a file under dir is modified,
// staged or untracked (ignored files do not count), and the commit's
// committer time in UTC.
func Revision(dir string) (rev string, commitTime time.Time, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("resolving %s: %w", dir, err)
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return "", time.Time{}, fmt.Errorf("reading revision of %s: not inside a git repository", dir)
		}
		return "", time.Time{}, fmt.Errorf("opening git repository of %s: %w", dir, err)
	}
	head, err := repo.Head()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reading HEAD of %s: %w", dir, err)
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reading commit %s: %w", head.Hash(), err)
	}
	rev = head.Hash().String()
	commitTime = commit.Committer.When.UTC()

	wt, err := repo.Worktree()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("opening worktree of %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("resolving worktree root: %w", err)
	}
	absReal, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("resolving %s: %w", dir, err)
	}
	prefix, err := filepath.Rel(root, absReal)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("locating %s in its repository: %w", dir, err)
	}
	prefix = filepath.ToSlash(prefix)
	status, err := wt.Status()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reading git status of %s: %w", dir, err)
	}
	for path, st := range status {
		if st.Staging == git.Unmodified && st.Worktree == git.Unmodified {
			continue
		}
		if prefix == "." || path == prefix || strings.HasPrefix(path, prefix+"/") {
			return rev + DirtySuffix, commitTime, nil
		}
	}
	return rev, commitTime, nil
}
