package review

import (
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// gitCmd runs the git CLI in dir and returns its trimmed output.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// policyRepo makes a working repository whose policy lives in sub, with a
// bare repository as its origin, and returns (worktree, policy dir, bare).
func policyRepo(t *testing.T, sub string, files map[string]string) (string, string, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed")
	}
	base := t.TempDir()
	work, bare := filepath.Join(base, "work"), filepath.Join(base, "origin.git")
	gitCmd(t, base, "init", "-q", "--bare", "-b", "main", bare)
	gitCmd(t, base, "init", "-q", "-b", "main", work)
	pdir := filepath.Join(work, sub)
	for name, body := range files {
		p := filepath.Join(pdir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("policy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, work, "add", "-A")
	gitCmd(t, work, "commit", "-q", "-m", "initial policy")
	gitCmd(t, work, "remote", "add", "origin", bare)
	gitCmd(t, work, "push", "-q", "origin", "main")
	return work, pdir, bare
}

func TestCommitAndPush(t *testing.T) {
	for _, sub := range []string{".", "policy"} {
		t.Run("dir="+sub, func(t *testing.T) {
			work, pdir, bare := policyRepo(t, sub, map[string]string{"roles.hcl": "role \"r\" {}\n", "teams/agents.hcl": "# agents\n"})
			o := GitOptions{Dir: pdir, AuthorName: "Review Bot", AuthorEmail: "bot@example.com",
				Now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
			files := map[string][]byte{
				"roles.hcl":                  []byte("role \"r\" {\n  # edited\n}\n"),
				"reviews/r-2026-11-26.md":    []byte("# report\n"),
				"reviews/r-2026-11-26-a.svg": []byte("<svg/>\n"),
			}
			c, err := Commit(o, "recert/r-2026-11-26", "Recertify role r\n\nbody\n", files, []string{"roles.hcl"})
			if err != nil {
				t.Fatal(err)
			}
			if err := Push(context.Background(), o, c.Branch); err != nil {
				t.Fatal(err)
			}
			// The working tree and HEAD are untouched.
			if got := gitCmd(t, work, "status", "--porcelain"); got != "" {
				t.Errorf("working tree changed: %q", got)
			}
			if got := gitCmd(t, work, "rev-parse", "--abbrev-ref", "HEAD"); got != "main" {
				t.Errorf("HEAD moved to %s", got)
			}
			prefix := ""
			if sub != "." {
				prefix = sub + "/"
			}
			log := gitCmd(t, bare, "log", "--format=%an <%ae>|%s|%P", "-1", "recert/r-2026-11-26")
			main := gitCmd(t, bare, "rev-parse", "main")
			if want := "Review Bot <bot@example.com>|Recertify role r|" + main; log != want {
				t.Errorf("log = %q, want %q", log, want)
			}
			names := gitCmd(t, bare, "show", "--name-only", "--format=", "recert/r-2026-11-26")
			want := strings.Join([]string{prefix + "reviews/r-2026-11-26-a.svg", prefix + "reviews/r-2026-11-26.md", prefix + "roles.hcl"}, "\n")
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("changed files (-want +got):\n%s", diff)
			}
			if got := gitCmd(t, bare, "show", "recert/r-2026-11-26:"+prefix+"roles.hcl"); got != "role \"r\" {\n  # edited\n}" {
				t.Errorf("roles.hcl = %q", got)
			}
			if got := gitCmd(t, bare, "show", "recert/r-2026-11-26:"+prefix+"teams/agents.hcl"); got != "# agents" {
				t.Errorf("untouched file = %q", got)
			}
			gitCmd(t, bare, "fsck", "--strict")

			// A re-run replaces the branch (force push of a new commit).
			files["reviews/r-2026-11-26.md"] = []byte("# report v2\n")
			c2, err := Commit(o, "recert/r-2026-11-26", "Recertify role r\n", files, []string{"roles.hcl"})
			if err != nil {
				t.Fatal(err)
			}
			if err := Push(context.Background(), o, c2.Branch); err != nil {
				t.Fatal(err)
			}
			if got := gitCmd(t, bare, "rev-parse", "recert/r-2026-11-26"); got != c2.Commit {
				t.Errorf("remote branch at %s, want %s", got, c2.Commit)
			}
		})
	}
}

func TestCommitRefusesDirtyFile(t *testing.T) {
	_, pdir, _ := policyRepo(t, ".", map[string]string{"roles.hcl": "role \"r\" {}\n"})
	if err := os.WriteFile(filepath.Join(pdir, "roles.hcl"), []byte("role \"r\" { }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Commit(GitOptions{Dir: pdir}, "recert/r-x", "m", map[string][]byte{"roles.hcl": []byte("x")}, []string{"roles.hcl"})
	if err == nil || !strings.Contains(err.Error(), "uncommitted changes") {
		t.Fatalf("err = %v, want uncommitted changes", err)
	}
}

func TestPushToURL(t *testing.T) {
	_, pdir, _ := policyRepo(t, ".", map[string]string{"roles.hcl": "role \"r\" {}\n"})
	other := filepath.Join(t.TempDir(), "other.git")
	gitCmd(t, filepath.Dir(other), "init", "-q", "--bare", other)
	o := GitOptions{Dir: pdir, Remote: "file://" + other}
	c, err := Commit(o, "recert/r-2026-11-26", "m\n", map[string][]byte{"reviews/x.md": []byte("x\n")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Push(context.Background(), o, c.Branch); err != nil {
		t.Fatal(err)
	}
	if got := gitCmd(t, other, "rev-parse", "recert/r-2026-11-26"); got != c.Commit {
		t.Errorf("got %s want %s", got, c.Commit)
	}
	if err := Push(context.Background(), GitOptions{Dir: pdir, Remote: "nosuch"}, c.Branch); err == nil {
		t.Error("push to an unknown remote name succeeded")
	}
}

// TestPushHTTPToken pushes over smart HTTP to the real git http-backend,
// behind HTTP basic auth that accepts only the token.
func TestPushHTTPToken(t *testing.T) {
	_, pdir, _ := policyRepo(t, ".", map[string]string{"roles.hcl": "role \"r\" {}\n"})
	backend := filepath.Join(gitCmd(t, pdir, "--exec-path"), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git-http-backend not installed")
	}
	root := t.TempDir()
	bare := filepath.Join(root, "policy.git")
	gitCmd(t, root, "init", "-q", "--bare", bare)
	gitCmd(t, bare, "config", "http.receivepack", "true")
	h := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "x-access-token" || p != "s3cret-token" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	o := GitOptions{Dir: pdir, Remote: srv.URL + "/policy.git", Token: "s3cret-token"}
	c, err := Commit(o, "recert/r-2026-11-26", "m\n", map[string][]byte{"reviews/r.md": []byte("r\n")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Push(context.Background(), o, c.Branch); err != nil {
		t.Fatal(err)
	}
	if got := gitCmd(t, bare, "rev-parse", "recert/r-2026-11-26"); got != c.Commit {
		t.Errorf("remote branch at %s, want %s", got, c.Commit)
	}
	o.Token = "wrong-token"
	err = Push(context.Background(), o, c.Branch)
	if err == nil {
		t.Fatal("push with a wrong token succeeded")
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestAuthMethod(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	gitKey(t, key)
	tests := []struct {
		url, token, sshKey, want string
	}{
		{"https://github.com/acme/policy.git", "tok", "", "http-basic-auth"},
		{"https://github.com/acme/policy.git", "", "", "none"},
		{"git@github.com:acme/policy.git", "", key, "ssh-public-keys"},
		{"ssh://deploy@git.example.com/policy.git", "", key, "ssh-public-keys"},
		{"file:///tmp/x.git", "tok", key, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			o := GitOptions{Token: tt.token, SSHKey: tt.sshKey}
			a, err := o.auth(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			got := "none"
			if a != nil {
				got = a.Name()
			}
			if got != tt.want {
				t.Errorf("auth = %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := (&GitOptions{SSHKey: filepath.Join(dir, "missing")}).auth("git@github.com:a/b.git"); err == nil {
		t.Error("no error for a missing SSH key")
	}
}

// gitKey writes an unencrypted OpenSSH ed25519 private key and returns
// its public key.
func gitKey(t *testing.T, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}
