package pgsql

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mandatehq/mandate/model"
)

func TestAnalyzeErrors(t *testing.T) {
	if _, err := Analyze("SELEC 1", Options{}); err == nil {
		t.Error("a statement that does not parse must return an error")
	}
	if _, err := Analyze(strings.Repeat(" ", MaxQueryBytes+1), Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized input: got %v, want ErrTooLarge", err)
	}
	if _, err := Analyze("SELECT 1\x00; DELETE FROM t", Options{}); !errors.Is(err, ErrNUL) {
		t.Errorf("NUL byte: got %v, want ErrNUL", err)
	}
	if _, err := NewAnalyzer(Options{}, 0).Analyze("SELECT 1\x00; DELETE FROM t"); !errors.Is(err, ErrNUL) {
		t.Errorf("NUL byte through the Analyzer: got %v, want ErrNUL", err)
	}
	res, err := Analyze("  ;; -- nothing\n", Options{})
	if err != nil || len(res) != 0 {
		t.Errorf("empty query: got %v, %v; want no statements", res, err)
	}
}

func TestStatementTexts(t *testing.T) {
	res, err := Analyze("SELECT 1;  UPDATE t SET x = 'a;b' ; /* c */ SELECT 2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, r := range res {
		texts = append(texts, r.Text)
	}
	want := []string{"SELECT 1", "UPDATE t SET x = 'a;b'", "/* c */ SELECT 2"}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("texts (-want +got):\n%s", diff)
	}
}

func TestFingerprintAndNormalize(t *testing.T) {
	a, _ := Fingerprint("SELECT a FROM t WHERE x = 1")
	b, _ := Fingerprint("select a from t where x = 42")
	c, _ := Fingerprint("SELECT a FROM u WHERE x = 1")
	if a == "" || a != b || a == c {
		t.Errorf("fingerprints: %q %q %q", a, b, c)
	}
	n, err := Normalize("SELECT a FROM t WHERE x = 1 AND y = 'secret'")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(n, "secret") || !strings.Contains(n, "$2") {
		t.Errorf("Normalize = %q", n)
	}
	if _, err := Normalize("SELEC"); err == nil {
		t.Error("Normalize of bad SQL must fail")
	}
}

func TestDecisionKey(t *testing.T) {
	ro, _ := Analyze("BEGIN READ ONLY", Options{})
	rw, _ := Analyze("BEGIN READ WRITE", Options{})
	if ro[0].Statement.Fingerprint != rw[0].Statement.Fingerprint {
		t.Skip("pg_query now tells these apart")
	}
	if ro[0].DecisionKey == rw[0].DecisionKey {
		t.Error("BEGIN READ ONLY and READ WRITE must not share a decision key")
	}
	x, _ := Analyze("SELECT a FROM t WHERE x = 1", Options{})
	y, _ := Analyze("SELECT a FROM t WHERE x = 2", Options{})
	if x[0].DecisionKey != y[0].DecisionKey {
		t.Error("literal-only differences should share a decision key")
	}
}

func TestPrepareAndExecute(t *testing.T) {
	opts := Options{SearchPath: []string{"app"}}
	res, err := Analyze("PREPARE p (int) AS SELECT email FROM users WHERE id = $1; EXECUTE p(nextval('s'))", opts)
	if err != nil {
		t.Fatal(err)
	}
	prep, exec := res[0], res[1]
	if prep.Name != "p" || prep.Prepared == nil {
		t.Fatalf("PREPARE: name %q, prepared %v", prep.Name, prep.Prepared)
	}
	if prep.Prepared.Text != "SELECT email FROM users WHERE id = $1" || prep.Prepared.Statement.Tag != "SELECT" {
		t.Errorf("prepared inner: %q %q", prep.Prepared.Text, prep.Prepared.Statement.Tag)
	}
	if exec.Statement.Forbidden == "" || exec.Name != "p" {
		t.Errorf("EXECUTE must be forbidden until resolved: %+v", exec)
	}
	r := exec.ResolveExecute(prep)
	want := model.Statement{
		Fingerprint:   prep.Prepared.Statement.Fingerprint,
		Tag:           "SELECT",
		Accesses:      []model.Access{{Class: "select", Table: "app.users"}},
		Functions:     []string{"nextval"},
		FilterColumns: []string{"app.users.id"},
	}
	if diff := cmp.Diff(want, r.Statement, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Lineage{dir("app.users.email")}, r.Outputs); diff != "" {
		t.Errorf("resolved outputs (-want +got):\n%s", diff)
	}
	if r.DecisionKey == "" || r.DecisionKey == exec.DecisionKey {
		t.Error("resolved EXECUTE needs its own decision key")
	}
}

func TestCursorNames(t *testing.T) {
	res, err := Analyze("DECLARE c CURSOR FOR SELECT email FROM users; FETCH 5 FROM c; CLOSE c", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Name != "c" {
			t.Errorf("%s: name %q", r.Statement.Tag, r.Name)
		}
	}
	if len(res[0].Outputs) != 1 || res[0].Outputs[0].Sources[0] != "public.users.email" {
		t.Errorf("DECLARE outputs: %+v", res[0].Outputs)
	}
}

func TestDeepNesting(t *testing.T) {
	sql := "SELECT " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000)
	res, err := Analyze(sql, Options{})
	if err == nil && len(res) == 1 && res[0].Statement.Forbidden == "" {
		// pg_query may parse it; the analysis must then still be complete.
		if len(res[0].Statement.Functions) != 0 {
			t.Errorf("unexpected functions %v", res[0].Statement.Functions)
		}
	}
	sub := strings.Repeat("(SELECT ", 3000) + "1" + strings.Repeat(")", 3000)
	if res, err := Analyze("SELECT "+sub, Options{}); err == nil && res[0].Statement.Forbidden == "" {
		t.Error("3000 nested subqueries: want a parse error or a forbidden statement")
	}
}
