package compiler

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteDiagnostics(t *testing.T) {
	repo, diags := Load("testdata/errors/literal_secret", Options{Now: testNow})
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"text", []string{
			"Error: Literal secret in credential\n\n  on testdata/errors/literal_secret/main.hcl:7:16:\n",
			"   7:     password = \"hunter2\" # ERROR: Literal secret in credential\n                     ^^^^^^^^^\n",
			"Write env(\"VARIABLE\")",
		}},
		{"github", []string{
			"::error file=testdata/errors/literal_secret/main.hcl,line=7,col=16,endLine=7,endColumn=25,title=Literal secret in credential::Literal secret in credential: The password",
		}},
	} {
		var buf bytes.Buffer
		if err := WriteDiagnostics(&buf, repo, diags, tc.format); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%s output lacks %q:\n%s", tc.format, w, buf.String())
			}
		}
	}
	var buf bytes.Buffer
	if err := WriteDiagnostics(&buf, repo, diags, "json"); err != nil {
		t.Fatal(err)
	}
	var got []JSONDiagnostic
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d diagnostics", len(got))
	}
	got[0].Detail = ""
	want := JSONDiagnostic{Severity: "error", Summary: "Literal secret in credential", File: "main.hcl", Line: 7, Column: 16, EndLine: 7, EndColumn: 25}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
	if err := WriteDiagnostics(&buf, repo, diags, "yaml"); err == nil {
		t.Error("unknown format accepted")
	}
	if s := ghData("a%b\nc"); s != "a%25b%0Ac" {
		t.Errorf("ghData = %q", s)
	}
	if s := ghProp("a:b,c"); s != "a%3Ab%2Cc" {
		t.Errorf("ghProp = %q", s)
	}
}

// TestNoSecretValuesInPolicy checks that a credential's reference, not a
// value, is all the model holds.
func TestNoSecretValuesInPolicy(t *testing.T) {
	t.Setenv("ORDERS_DB_PASSWORD", "s3cret-value")
	repo, diags := Load("testdata/contract", Options{Now: testNow})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b, _ := json.Marshal(repo.Policy)
	if strings.Contains(string(b), "s3cret-value") {
		t.Fatal("the policy holds the secret's value")
	}
	c := repo.Policy.Connections["orders_db"].Credential.Password
	if c == nil || c.Kind != "env" || c.Name != "ORDERS_DB_PASSWORD" {
		t.Fatalf("password = %+v", c)
	}
}
