package review

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// PushTimeout bounds one push.
var PushTimeout = 5 * time.Minute

// GitOptions say where and as whom the review branch is committed.
type GitOptions struct {
	// Dir is the policy directory, inside a git working tree.
	Dir string
	// Remote is a remote name of that repository or a URL. Default "origin".
	Remote string
	// AuthorName and AuthorEmail sign the commit. Default "mandate review bot"
	// and "mandate-review@users.noreply.github.com".
	AuthorName, AuthorEmail string
	// Token authenticates an HTTPS push (HTTP basic auth, user x-access-token).
	Token string
	// SSHKey is a private key file for an SSH push; SSHKeyPassphrase opens it.
	SSHKey, SSHKeyPassphrase string
	// Now is the commit time. Default time.Now.
	Now time.Time
}

// Committed is a branch written by Commit.
type Committed struct {
	Branch string `json:"branch"`
	Commit string `json:"commit"`
	Parent string `json:"parent"`
	// RepoDir is the policy directory relative to the repository root.
	RepoDir string `json:"repo_dir"`
}

// Commit writes files (relative to the policy directory) as a new commit on
// top of HEAD, on branch, without touching the working tree or the index.
// It refuses when an edited file has uncommitted changes, since the edits
// were computed from the working tree.
func Commit(o GitOptions, branch, message string, files map[string][]byte, edited []string) (*Committed, error) {
	o.defaults()
	repo, root, err := openRepo(o.Dir)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, mustAbs(o.Dir))
	if err != nil {
		return nil, fmt.Errorf("locating %s in %s: %w", o.Dir, root, err)
	}
	rel = filepath.ToSlash(rel)
	if rel == "." {
		rel = ""
	}
	head, err := repo.Head()
	if err != nil {
		return nil, fmt.Errorf("reading HEAD of %s: %w", root, err)
	}
	parent, err := repo.CommitObject(head.Hash())
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", head.Hash(), err)
	}
	tree, err := parent.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading tree of %s: %w", head.Hash(), err)
	}
	changes := map[string][]byte{}
	for name, data := range files {
		changes[path.Join(rel, name)] = data
	}
	for _, name := range edited {
		p := path.Join(rel, name)
		if err := checkClean(tree, root, p); err != nil {
			return nil, err
		}
	}
	st := repo.Storer
	treeHash, err := writeTree(st, tree, changes)
	if err != nil {
		return nil, fmt.Errorf("writing tree: %w", err)
	}
	sig := object.Signature{Name: o.AuthorName, Email: o.AuthorEmail, When: o.Now}
	c := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: treeHash, ParentHashes: []plumbing.Hash{parent.Hash}}
	obj := st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return nil, fmt.Errorf("encoding commit: %w", err)
	}
	hash, err := st.SetEncodedObject(obj)
	if err != nil {
		return nil, fmt.Errorf("storing commit: %w", err)
	}
	ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), hash)
	if err := st.SetReference(ref); err != nil {
		return nil, fmt.Errorf("creating branch %s: %w", branch, err)
	}
	return &Committed{Branch: branch, Commit: hash.String(), Parent: parent.Hash.String(), RepoDir: rel}, nil
}

// Push force-pushes branch to the remote: the branch belongs to the bot, and
// a re-run replaces the previous proposal.
func Push(ctx context.Context, o GitOptions, branch string) error {
	o.defaults()
	repo, _, err := openRepo(o.Dir)
	if err != nil {
		return err
	}
	remote, url, err := resolveRemote(repo, o.Remote)
	if err != nil {
		return err
	}
	auth, err := o.auth(url)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, PushTimeout)
	defer cancel()
	spec := config.RefSpec("+refs/heads/" + branch + ":refs/heads/" + branch)
	err = remote.PushContext(ctx, &git.PushOptions{RemoteName: remote.Config().Name, RefSpecs: []config.RefSpec{spec}, Auth: auth})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("pushing %s to %s: %w", branch, redactURL(url), err)
	}
	return nil
}

// RemoteURL returns the URL the remote (a name or a URL) points at.
func RemoteURL(dir, remote string) (string, error) {
	repo, _, err := openRepo(dir)
	if err != nil {
		return "", err
	}
	if remote == "" {
		remote = "origin"
	}
	_, url, err := resolveRemote(repo, remote)
	return url, err
}

func (o *GitOptions) defaults() {
	if o.Remote == "" {
		o.Remote = "origin"
	}
	if o.AuthorName == "" {
		o.AuthorName = "mandate review bot"
	}
	if o.AuthorEmail == "" {
		o.AuthorEmail = "mandate-review@users.noreply.github.com"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
}

func (o *GitOptions) auth(url string) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, fmt.Errorf("parsing remote URL %s: %w", redactURL(url), err)
	}
	switch ep.Protocol {
	case "http", "https":
		if o.Token != "" {
			return &githttp.BasicAuth{Username: "x-access-token", Password: o.Token}, nil
		}
	case "ssh":
		if o.SSHKey != "" {
			user := ep.User
			if user == "" {
				user = "git"
			}
			k, err := gitssh.NewPublicKeysFromFile(user, o.SSHKey, o.SSHKeyPassphrase)
			if err != nil {
				return nil, fmt.Errorf("reading SSH key %s: %w", o.SSHKey, err)
			}
			return k, nil
		}
	}
	return nil, nil
}

func openRepo(dir string) (*git.Repository, string, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, "", fmt.Errorf("opening git repository at %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, "", fmt.Errorf("opening worktree of %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return nil, "", fmt.Errorf("resolving %s: %w", wt.Filesystem.Root(), err)
	}
	return repo, root, nil
}

func mustAbs(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
}

func resolveRemote(repo *git.Repository, remote string) (*git.Remote, string, error) {
	if r, err := repo.Remote(remote); err == nil {
		urls := r.Config().URLs
		if len(urls) == 0 {
			return nil, "", fmt.Errorf("remote %s has no URL", remote)
		}
		return r, urls[0], nil
	}
	if !strings.Contains(remote, "/") && !strings.Contains(remote, ":") {
		return nil, "", fmt.Errorf("no remote named %s", remote)
	}
	r := git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "mandate-review", URLs: []string{remote}})
	return r, remote, nil
}

// checkClean refuses to commit over uncommitted changes to an edited file.
func checkClean(tree *object.Tree, root, p string) error {
	disk, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	f, err := tree.File(p)
	if err != nil {
		return fmt.Errorf("policy file %s is not committed; commit it before the review", p)
	}
	committed, err := f.Contents()
	if err != nil {
		return fmt.Errorf("reading %s at HEAD: %w", p, err)
	}
	if !bytes.Equal([]byte(committed), disk) {
		return fmt.Errorf("policy file %s has uncommitted changes; commit or discard them before the review", p)
	}
	return nil
}

// writeTree stores a copy of base (nil for an empty tree) with changes
// (paths relative to base) applied, and returns its hash.
func writeTree(st storer.EncodedObjectStorer, base *object.Tree, changes map[string][]byte) (plumbing.Hash, error) {
	entries := map[string]object.TreeEntry{}
	if base != nil {
		for _, e := range base.Entries {
			entries[e.Name] = e
		}
	}
	sub := map[string]map[string][]byte{}
	for p, data := range changes {
		if dir, rest, ok := strings.Cut(p, "/"); ok {
			if sub[dir] == nil {
				sub[dir] = map[string][]byte{}
			}
			sub[dir][rest] = data
			continue
		}
		obj := st.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, err := obj.Writer()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if _, err := w.Write(data); err != nil {
			return plumbing.ZeroHash, err
		}
		if err := w.Close(); err != nil {
			return plumbing.ZeroHash, err
		}
		h, err := st.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		mode := filemode.Regular
		if e, ok := entries[p]; ok && e.Mode == filemode.Executable {
			mode = e.Mode
		}
		entries[p] = object.TreeEntry{Name: p, Mode: mode, Hash: h}
	}
	for dir, ch := range sub {
		var subtree *object.Tree
		if e, ok := entries[dir]; ok && e.Mode == filemode.Dir {
			t, err := object.GetTree(st, e.Hash)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			subtree = t
		}
		h, err := writeTree(st, subtree, ch)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries[dir] = object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: h}
	}
	t := &object.Tree{}
	for _, e := range entries {
		t.Entries = append(t.Entries, e)
	}
	// git orders entries by name, a directory's name compared with a "/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	slices.SortFunc(t.Entries, func(a, b object.TreeEntry) int { return strings.Compare(key(a), key(b)) })
	obj := st.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}

// redactURL drops a password from a URL before it is printed.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if at := strings.LastIndex(u, "@"); at > i {
			return u[:i+3] + "***@" + u[at+1:]
		}
	}
	return u
}
