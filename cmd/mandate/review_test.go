package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/chain"
)

// execReview runs the root command and returns output and exit code.
func execReview(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		if ee.err != nil {
			out.WriteString(ee.err.Error())
		}
		return out.String(), ee.code
	case isUsageError(err):
		return out.String() + err.Error(), 2
	}
	return out.String() + err.Error(), 1
}

func day(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return t
}

// reviewUsage is a signed usage export for review/testdata/repo.
func reviewUsage(t *testing.T, dir string) (usageFile, keyFile string) {
	t.Helper()
	u := &model.Usage{Since: day("2026-08-28"), Until: day("2026-11-26"),
		Agents: []model.AgentUsage{{Agent: "fulfilment-planner", Sessions: 4, First: day("2026-09-01"), Last: day("2026-11-25")}},
		Grants: []model.GrantUsage{{Agent: "fulfilment-planner", Role: "order_reader", Connection: "orders_db", Kind: "postgres",
			Count: 3, First: day("2026-11-01"), Last: day("2026-11-25"), SampleSessions: []string{"sess-1"},
			Statements: []model.StatementUsage{{Class: "select", Table: "public.orders", Count: 3, First: day("2026-11-01"), Last: day("2026-11-25")}}}},
	}
	k, err := chain.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(u)
	su := model.SignedUsage{Payload: payload, KeyID: k.ID, Algorithm: "ed25519", Signature: ed25519.Sign(k.Private, payload)}
	data, _ := json.Marshal(su)
	usageFile, keyFile = filepath.Join(dir, "usage.json"), filepath.Join(dir, "gateway.pub")
	if err := os.WriteFile(usageFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, chain.MarshalPublicKey(k.Public), 0o644); err != nil {
		t.Fatal(err)
	}
	return usageFile, keyFile
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// policyCheckout copies review/testdata/repo into a git working tree with a
// bare origin.
func policyCheckout(t *testing.T) (work, bare string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed")
	}
	base := t.TempDir()
	work, bare = filepath.Join(base, "work"), filepath.Join(base, "origin.git")
	gitRun(t, base, "init", "-q", "--bare", "-b", "main", bare)
	gitRun(t, base, "init", "-q", "-b", "main", work)
	for _, f := range []string{"connections.hcl", "roles.hcl", "agents.hcl"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "review", "testdata", "repo", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitRun(t, work, "add", "-A")
	gitRun(t, work, "commit", "-q", "-m", "policy")
	gitRun(t, work, "remote", "add", "origin", bare)
	gitRun(t, work, "push", "-q", "origin", "main")
	return work, bare
}

// miniGitHub records pull-request API calls; review/github_test.go checks
// the request schema in depth.
type miniGitHub struct {
	mu    sync.Mutex
	calls []string
	prs   int
	open  map[string]int
}

func (g *miniGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer gh-token" || r.Header.Get("Accept") != "application/vnd.github+json" {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message":"Bad credentials"}`))
		return
	}
	g.calls = append(g.calls, r.Method+" "+r.URL.Path)
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	switch {
	case r.Method == "GET":
		_, branch, _ := strings.Cut(r.URL.Query().Get("head"), ":")
		out := []map[string]any{}
		for b, n := range g.open {
			if branch == "" || b == branch {
				out = append(out, map[string]any{"number": n, "head": map[string]any{"ref": b}})
			}
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/pulls"):
		g.prs++
		g.open[body["head"].(string)] = g.prs
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"number": g.prs, "html_url": "https://github.example/acme/policy/pull/1"})
	default:
		w.Write([]byte(`{"number": 1}`))
	}
}

func TestReviewCommandOpenPR(t *testing.T) {
	work, bare := policyCheckout(t)
	usage, key := reviewUsage(t, t.TempDir())
	gh := &miniGitHub{open: map[string]int{}}
	srv := httptest.NewServer(gh)
	defer srv.Close()
	args := []string{"review", "--policy", work, "--usage", usage, "--usage-key", key, "--date", "2026-11-26",
		"--open-pr", "--repo", "acme/policy", "--github-url", srv.URL, "--github-token", "gh-token", "--author-name", "Bot"}
	out, code := execReview(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if !strings.Contains(out, "pull request #1") {
		t.Errorf("output: %s", out)
	}
	branch := "recert/order_reader-2026-11-26"
	if got := gitRun(t, bare, "log", "-1", "--format=%an|%s", branch); got != "Bot|Recertify role order_reader (2026-11-26)" {
		t.Errorf("log = %q", got)
	}
	files := gitRun(t, bare, "show", "--name-only", "--format=", branch)
	for _, want := range []string{"roles.hcl", "agents.hcl", "reviews/order_reader-2026-11-26.md", "reviews/order_reader-2026-11-26-usage.json", "reviews/order_reader-2026-11-26-postgres-orders_db.svg"} {
		if !strings.Contains(files, want) {
			t.Errorf("commit lacks %s: %s", want, files)
		}
	}
	if got := gitRun(t, bare, "show", branch+":roles.hcl"); !strings.Contains(got, `last_reviewed = "2026-11-26" # set by the review bot`) {
		t.Errorf("roles.hcl not edited:\n%s", got)
	}
	// The committed export is the signed one, byte for byte.
	want, _ := os.ReadFile(usage)
	if got := gitRun(t, bare, "show", branch+":reviews/order_reader-2026-11-26-usage.json"); got != strings.TrimSpace(string(want)) {
		t.Error("committed usage export differs from the input")
	}
	// Re-running updates the same pull request.
	if out, code := execReview(t, args...); code != 0 {
		t.Fatalf("re-run exit %d: %s", code, out)
	}
	if gh.prs != 1 {
		t.Errorf("%d pull requests opened, want 1 (calls %v)", gh.prs, gh.calls)
	}
	if !strings.Contains(strings.Join(gh.calls, "\n"), "PATCH /repos/acme/policy/pulls/1") {
		t.Errorf("no PATCH on re-run: %v", gh.calls)
	}
	// A run on a later day updates the same pull request and its branch.
	later := append([]string{}, args...)
	later[slices.Index(later, "--date")+1] = "2026-11-27"
	if out, code := execReview(t, later...); code != 0 {
		t.Fatalf("later run exit %d: %s", code, out)
	}
	if gh.prs != 1 {
		t.Errorf("%d pull requests after a later run, want 1", gh.prs)
	}
	if got := gitRun(t, bare, "show", "--name-only", "--format=%s", branch); !strings.Contains(got, "reviews/order_reader-2026-11-27.md") {
		t.Errorf("branch %s not updated by the later run:\n%s", branch, got)
	}
	if got := gitRun(t, work, "status", "--porcelain"); got != "" {
		t.Errorf("working tree changed: %s", got)
	}
}

func TestReviewCommandOutAndDryRun(t *testing.T) {
	dir := t.TempDir()
	usage, key := reviewUsage(t, dir)
	policy := filepath.Join("..", "..", "review", "testdata", "repo")
	out := filepath.Join(dir, "out")
	res, code := execReview(t, "review", "--policy", policy, "--usage", usage, "--usage-key", key, "--date", "2026-11-26", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, res)
	}
	report, err := os.ReadFile(filepath.Join(out, "reviews", "order_reader-2026-11-26.md"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "roles.hcl")); err != nil {
		t.Error(err)
	}
	// A reviewer checks the committed export with mandate audit verify.
	if res, code := execReview(t, "audit", "verify", "--file", filepath.Join(out, "reviews", "order_reader-2026-11-26-usage.json"), "--key", key); code != 0 || !strings.Contains(res, "signed usage ok") {
		t.Errorf("audit verify of the evidence: exit %d: %s", code, res)
	}
	dry, code := execReview(t, "review", "--policy", policy, "--usage", usage, "--date", "2026-11-26", "--dry-run")
	if code != 0 {
		t.Fatalf("dry-run exit %d: %s", code, dry)
	}
	// --dry-run prints the same report (the --usage-key line aside) and the diff.
	firstTable := string(report[strings.Index(string(report), "## Proposed changes"):])
	if !strings.Contains(dry, firstTable) || !strings.Contains(dry, "+++ b/roles.hcl") {
		t.Errorf("dry-run output lacks the report or the diff:\n%s", dry)
	}
	js, code := execReview(t, "review", "--policy", policy, "--usage", usage, "--date", "2026-11-26", "--format", "json")
	var doc struct {
		Roles []struct {
			Branch string   `json:"branch"`
			Files  []string `json:"files"`
		} `json:"roles"`
	}
	if code != 0 || json.Unmarshal([]byte(js), &doc) != nil || len(doc.Roles) != 1 || doc.Roles[0].Branch != "recert/order_reader-2026-11-26" {
		t.Errorf("json output (exit %d): %s", code, js)
	}
}

func TestReviewCommandErrors(t *testing.T) {
	dir := t.TempDir()
	usage, _ := reviewUsage(t, dir)
	_, otherKey := reviewUsage(t, t.TempDir())
	policy := filepath.Join("..", "..", "review", "testdata", "repo")
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no usage", []string{"--policy", policy}, 2, "--usage is required"},
		{"two modes", []string{"--policy", policy, "--usage", usage, "--dry-run", "--out", dir}, 2, "exclude each other"},
		{"bad format", []string{"--policy", policy, "--usage", usage, "--format", "yaml"}, 2, "unknown --format"},
		{"bad since", []string{"--policy", policy, "--usage", usage, "--since", "soon"}, 2, "--since"},
		{"unknown role", []string{"--policy", policy, "--usage", usage, "--role", "nope"}, 2, "no role named nope"},
		{"wrong key", []string{"--policy", policy, "--usage", usage, "--usage-key", otherKey, "--date", "2026-11-26"}, 1, "signature does not match"},
		{"missing file", []string{"--policy", policy, "--usage", filepath.Join(dir, "nope.json")}, 1, "reading usage"},
		{"pr without token", []string{"--policy", policy, "--usage", usage, "--open-pr", "--date", "2026-11-26", "--github-token", ""}, 1, "GitHub token"},
	}
	t.Setenv("GITHUB_TOKEN", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := execReview(t, append([]string{"review"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.msg) {
				t.Errorf("exit %d, output %q; want exit %d with %q", code, out, tt.code, tt.msg)
			}
		})
	}
}
