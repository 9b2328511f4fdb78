package compiler

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testNow is the clock every test judges reviews against.
var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

var expectRE = regexp.MustCompile(`(ERROR|WARNING): ([^#]+)`)

// expectation is one expected diagnostic: file:line severity summary.
func expectations(t *testing.T, dir string) (want []string, warnSummaries map[string]bool) {
	t.Helper()
	warnSummaries = map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".hcl") {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			i := strings.Index(sc.Text(), "# ")
			if i < 0 {
				continue
			}
			for _, m := range expectRE.FindAllStringSubmatch(sc.Text()[i:], -1) {
				sev, summary := strings.ToLower(m[1]), strings.TrimSpace(m[2])
				want = append(want, fmt.Sprintf("%s:%d %s: %s", filepath.ToSlash(rel), line, sev, summary))
				if sev == "warning" {
					warnSummaries[summary] = true
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(want)
	return want, warnSummaries
}

func diagLines(diags hcl.Diagnostics, warnings map[string]bool) []string {
	var got []string
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
			if !warnings[d.Summary] {
				continue
			}
		}
		pos := "-"
		if d.Subject != nil {
			pos = fmt.Sprintf("%s:%d", d.Subject.Filename, d.Subject.Start.Line)
		}
		got = append(got, fmt.Sprintf("%s %s: %s", pos, sev, d.Summary))
	}
	sort.Strings(got)
	return got
}

// TestErrorFixtures loads every testdata/errors/<case> directory and checks
// that the diagnostics match the "# ERROR: Summary" and "# WARNING: Summary"
// comments on the offending lines. Warnings are compared only for the
// summaries a case expects.
func TestErrorFixtures(t *testing.T) {
	cases, err := os.ReadDir("testdata/errors")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, c := range cases {
		dir := filepath.Join("testdata/errors", c.Name())
		t.Run(c.Name(), func(t *testing.T) {
			want, warnings := expectations(t, dir)
			if len(want) == 0 {
				t.Fatal("fixture has no # ERROR: or # WARNING: expectation")
			}
			for _, w := range want {
				kinds[w[strings.Index(w, " ")+1:]] = true
			}
			_, diags := Load(dir, Options{Now: testNow})
			got := diagLines(diags, warnings)
			if diff := cmp.Diff(want, got); diff != "" {
				var buf bytes.Buffer
				WriteDiagnostics(&buf, nil, diags, "text")
				t.Errorf("diagnostics mismatch (-want +got):\n%s\nall diagnostics:\n%s", diff, buf.String())
			}
		})
	}
	if len(kinds) < 25 {
		t.Errorf("fixtures cover %d kinds of diagnostic, want at least 25", len(kinds))
	}
}

// TestValidRepositories loads repositories that must have no errors and
// compares their compiled policy with golden JSON.
func TestValidRepositories(t *testing.T) {
	for _, tc := range []struct {
		name, dir string
		warnings  []string // summaries allowed
	}{
		{"contract", "testdata/contract", []string{"Role held by no agent"}},
		{"quickstart", "../examples/quickstart", nil},
		{"acme", "../examples/acme", []string{"Overdue review"}},
		{"locals", "testdata/valid/locals", nil},
		{"unix_socket", "testdata/valid/unix_socket", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, diags := Load(tc.dir, Options{Now: testNow})
			for _, d := range diags {
				if d.Severity == hcl.DiagError || !contains(tc.warnings, d.Summary) {
					var buf bytes.Buffer
					WriteDiagnostics(&buf, repo, diags, "text")
					t.Fatalf("unexpected diagnostics:\n%s", buf.String())
				}
			}
			got, err := json.MarshalIndent(repo.Policy, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata/golden", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update): %v", err)
			}
			if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
				t.Errorf("policy differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestFailOnOverdue(t *testing.T) {
	dir := "testdata/errors/overdue_review"
	for _, tc := range []struct {
		fail bool
		want hcl.DiagnosticSeverity
	}{{false, hcl.DiagWarning}, {true, hcl.DiagError}} {
		_, diags := Load(dir, Options{Now: testNow, FailOnOverdue: tc.fail})
		var found bool
		for _, d := range diags {
			if d.Summary == "Overdue review" {
				found = true
				if d.Severity != tc.want {
					t.Errorf("FailOnOverdue=%v: severity %v, want %v", tc.fail, d.Severity, tc.want)
				}
			}
		}
		if !found {
			t.Errorf("FailOnOverdue=%v: no Overdue review diagnostic", tc.fail)
		}
	}
}

func TestDuplicateCitesFirstDeclaration(t *testing.T) {
	_, diags := Load("testdata/errors/duplicate_role", Options{Now: testNow})
	for _, d := range diags {
		if d.Summary == "Duplicate role" {
			if !strings.Contains(d.Detail, "a.hcl:") {
				t.Errorf("detail %q does not cite the first declaration in a.hcl", d.Detail)
			}
			return
		}
	}
	t.Fatal("no Duplicate role diagnostic")
}
