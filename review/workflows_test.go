package review

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// repoRoot is the mandate repository, one level up from this package.
var repoRoot = func() string {
	p, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return p
}()

// actionlintPath finds actionlint on PATH or at $REPO/bin/actionlint (make
// actionlint). Missing, it fails under CI and skips otherwise.
func actionlintPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("actionlint"); err == nil {
		return p
	}
	p := filepath.Join(repoRoot, "bin", "actionlint")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("actionlint not found on PATH or in bin/; run make actionlint")
	}
	t.Skip("actionlint not found on PATH or in bin/ (run make actionlint)")
	return ""
}

// TestWorkflowsActionlint lints the project's workflows and the example a
// policy repository copies.
func TestWorkflowsActionlint(t *testing.T) {
	bin := actionlintPath(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob(filepath.Join(repoRoot, "examples", "policy-repo-workflows", ".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 || len(examples) != 3 {
		t.Fatalf("found %d workflows and %d examples", len(files), len(examples))
	}
	cmd := exec.Command(bin, append(append([]string{"-no-color"}, files...), examples...)...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

// TestExampleCallsReusableWorkflows checks the example's inputs and secrets
// against the reusable workflows' declarations: actionlint does that for
// local references, so the example is linted with its remote references
// rewritten to local ones in a scratch project.
func TestExampleCallsReusableWorkflows(t *testing.T) {
	bin := actionlintPath(t)
	dir := t.TempDir()
	wf := filepath.Join(dir, ".github", "workflows")
	if err := os.MkdirAll(wf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil { // actionlint's project marker
		t.Fatal(err)
	}
	reusable, _ := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "policy-*.yml"))
	examples, _ := filepath.Glob(filepath.Join(repoRoot, "examples", "policy-repo-workflows", ".github", "workflows", "*.yml"))
	remote := regexp.MustCompile(`mandatehq/mandate/\.github/workflows/(policy-[a-z]+\.yml)@\S+`)
	calls := 0
	for _, f := range append(reusable, examples...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		if filepath.Dir(f) != filepath.Join(repoRoot, ".github", "workflows") {
			name = "example-" + name
			calls += len(remote.FindAll(data, -1))
			data = remote.ReplaceAll(data, []byte("./.github/workflows/$1"))
		}
		if err := os.WriteFile(filepath.Join(wf, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 3 {
		t.Fatalf("the example calls %d reusable workflows, want 3", calls)
	}
	cmd := exec.Command(bin, "-no-color")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}
