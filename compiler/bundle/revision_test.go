package bundle

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_AUTHOR_DATE=2026-11-02T10:30:00Z", "GIT_COMMITTER_DATE=2026-11-02T10:30:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestRevision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	policy := filepath.Join(repo, "policy")
	other := filepath.Join(repo, "other")
	for _, d := range []string{policy, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(filepath.Join(policy, "a.hcl"), "# a\n")
	writeFile(filepath.Join(other, "b.txt"), "b\n")
	writeFile(filepath.Join(repo, ".gitignore"), "*.log\n")
	gitCmd(t, repo, "init", "-q")
	gitCmd(t, repo, "add", ".")
	gitCmd(t, repo, "commit", "-q", "-m", "first")
	head := gitCmd(t, repo, "rev-parse", "HEAD")

	check := func(name, dir, want string) {
		t.Helper()
		rev, ct, err := Revision(dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rev != want {
			t.Errorf("%s: revision %q, want %q", name, rev, want)
		}
		if !ct.Equal(time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)) {
			t.Errorf("%s: commit time %v", name, ct)
		}
	}
	check("clean", policy, head)
	check("clean root", repo, head)

	writeFile(filepath.Join(other, "b.txt"), "changed\n")
	check("change outside the policy dir", policy, head)
	check("change seen from the root", repo, head+DirtySuffix)

	writeFile(filepath.Join(policy, "debug.log"), "x")
	check("ignored file", policy, head)

	writeFile(filepath.Join(policy, "new.hcl"), "# new\n")
	check("untracked file", policy, head+DirtySuffix)
	os.Remove(filepath.Join(policy, "new.hcl"))

	writeFile(filepath.Join(policy, "a.hcl"), "# changed\n")
	check("modified file", policy, head+DirtySuffix)

	if _, _, err := Revision(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not inside a git repository") {
		t.Errorf("outside git: %v", err)
	}
}
