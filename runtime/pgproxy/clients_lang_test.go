package pgproxy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Real clients in other languages through the gateway: psycopg2, pgjdbc and
// node-postgres run the scripts in testdata/clients, which print one line
// per result; the tests compare the whole output.

// needClient skips (fails in CI) when a client library is missing.
func needClient(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI", what)
	}
	t.Skipf("%s not installed", what)
}

// langTables are the tables every client script works on.
type langTables struct {
	allowed, denied, masked string
}

// langEnv is a gateway with an allowed table, a denied one and one whose
// ssn and email are masked (masking "pii", as in maskEnv).
func langEnv(t *testing.T) (*env, langTables) {
	e := newEnv(t)
	tb := langTables{
		allowed: e.table(t, "t", "id int primary key, name text, active bool, created timestamptz",
			"VALUES (1, 'one', true, '2024-01-01T00:00:00Z'), (2, 'two', false, '2024-01-02T03:04:05.678Z'), (3, 'three', true, NULL)"),
		denied: e.table(t, "secret", "id int", "VALUES (1)"),
		masked: e.table(t, "people", "id int primary key, name text, ssn text unique, email text, age int, note text",
			"VALUES (1, 'Ann', '123-45-6789', 'ann@example.com', 41, 'card 4111 1111 1111 1111 on file')"),
	}
	e.policy.set(func(p *testPolicy) {
		p.denied[tb.denied] = true
		p.masked[tb.masked] = true
		p.maskings["pii"] = piiMasking(tb.masked)
	})
	return e, tb
}

// deniedMsg is the gateway's message for a statement on tb.denied.
func (tb langTables) deniedMsg() string {
	return "mandate: permission denied by policy: no grant covers select on " + tb.denied + " (rule roles.hcl:7)"
}

const deniedHint = "Ask the policy owners for a grant that covers this statement, or run `mandate explain`."

// runClient runs a client script with the gateway's connection in the
// environment (runTool) and the tables as arguments; it fails the test
// unless the script exits 0, and returns its output lines.
func runClient(t *testing.T, e *env, tb langTables, sslmode, tool string, args ...string) []string {
	t.Helper()
	args = append(args, tb.allowed, tb.denied, tb.masked)
	out, errs, code := runTool(t, e, sslmode, tool, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", tool, strings.Join(args, " "), code, out, errs)
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

func compareLines(t *testing.T, want, got []string) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("client output (-want +got):\n%s", d)
	}
}

func TestPsycopg(t *testing.T) {
	// Debian's python3-psycopg2 belongs to the system interpreter, not to
	// whatever python3 comes first on PATH.
	const python = "/usr/bin/python3"
	needTool(t, python)
	needClient(t, "psycopg2 (python3-psycopg2)", exec.Command(python, "-c", "import psycopg2").Run() == nil)
	e, tb := langEnv(t)
	for _, sslmode := range []string{"require", "disable"} {
		t.Run(sslmode, func(t *testing.T) {
			ssl := map[string]string{"require": "on", "disable": "off"}[sslmode]
			got := runClient(t, e, tb, sslmode, python, "testdata/clients/python/client.py")
			compareLines(t, []string{
				"ssl " + ssl,
				"check1 2,two,false;3,three,true",
				"check2 error 42501 " + tb.deniedMsg(),
				"check2 hint " + deniedHint,
				"check2 after 3",
				"check3 before one 2", // 2: TRANSACTION_STATUS_INTRANS
				"check3 error 42501 " + tb.deniedMsg(),
				"check3 aborted 25P02",
				"check3 after three",
				"check4 1,Ann,[REDACTED],****@example.com",
				"check5 named 1,one;2,two;3,three",
				"check5 named-masked Ann,[REDACTED]",
				"check5 named-denied 42501",
				"check5 held-after-commit Ann,[REDACTED]",
				"check5 executemany 3",
				"check5 inserted 10,ten,true;11,eleven,false;12,NULL,NULL",
				"check5 rolledback 3",
				"done",
			}, got)
		})
	}
}

// pgjdbcJar is Debian's libpostgresql-jdbc-java.
const pgjdbcJar = "/usr/share/java/postgresql.jar"

func TestJDBC(t *testing.T) {
	needTool(t, "java")
	_, err := os.Stat(pgjdbcJar)
	needClient(t, "pgjdbc ("+pgjdbcJar+", libpostgresql-jdbc-java)", err == nil)
	e, tb := langEnv(t)
	got := runClient(t, e, tb, "require", "java", "-cp", pgjdbcJar, "testdata/clients/java/Client.java")
	allowedName := strings.TrimPrefix(tb.allowed, "public.")
	compareLines(t, []string{
		"connected PostgreSQL",
		"check1 2,two,false;3,three,true",
		"check2 error 42501 " + tb.deniedMsg(),
		"check2 hint " + deniedHint,
		"check2 after 3",
		"check3 before one",
		"check3 error 42501 " + tb.deniedMsg(),
		"check3 aborted 25P02",
		"check3 after three",
		"check4 1,Ann,[REDACTED],****@example.com",
		"check5 prepared one;two;three;one;two;three;one;two;three;one server=true",
		"check5 prepared-masked " + strings.Repeat("Ann,[REDACTED];", 7) + "Ann,[REDACTED] server=true",
		"check5 prepared-denied 42501,42501,42501,42501,42501,42501",
		"check5 prepared-after 3",
		"check5 tables public." + allowedName + ":TABLE",
		"check5 columns id:int4:NO;name:text:YES;active:bool:YES;created:timestamptz:YES",
		"check5 primarykeys id:1",
		"check5 metadata-after 3",
		"check5 batch [1, 1, 1]",
		"check5 batch-inserted 10,ten,true;11,eleven,false;12,NULL,NULL",
		"check5 batch-rolledback 3",
		"done",
	}, got)
}

// nodeClientDir holds node-postgres's package.json and lock file; CI runs
// npm ci there.
const nodeClientDir = "testdata/clients/node"

func TestNodePostgres(t *testing.T) {
	needTool(t, "node")
	_, err := os.Stat(filepath.Join(nodeClientDir, "node_modules", "pg", "package.json"))
	needClient(t, "node-postgres (npm ci in runtime/pgproxy/"+nodeClientDir+")", err == nil)
	e, tb := langEnv(t)
	got := runClient(t, e, tb, "require", "node", filepath.Join(nodeClientDir, "client.js"))
	compareLines(t, []string{
		"connected",
		"check1 2,two,false;3,three,true",
		"check2 error 42501 " + tb.deniedMsg(),
		"check2 hint " + deniedHint,
		"check2 after 3",
		"check3 before one",
		"check3 error 42501 " + tb.deniedMsg(),
		"check3 aborted 25P02",
		"check3 after three",
		"check4 1,Ann,[REDACTED],****@example.com",
		"check5 named one;two",
		"check5 named-masked Ann,[REDACTED];Ann,[REDACTED]",
		"check5 named-denied 42501",
		"check5 named-again three",
		"check5 types 2,3,hi!,2024-01-02T03:04:05.678Z,true,true,NULL",
		"done",
	}, got)
}
