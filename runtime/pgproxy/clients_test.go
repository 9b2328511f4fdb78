package pgproxy

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mandatehq/mandate/model"
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// runTool runs a libpq client with the gateway's connection in the
// environment and returns stdout, stderr and the exit code.
func runTool(t *testing.T, e *env, sslmode string, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(needTool(t, name), args...)
	host, port := strings.Split(e.addr, ":")[0], strings.Split(e.addr, ":")[1]
	cmd.Env = append(os.Environ(), "PGHOST="+host, "PGPORT="+port, "PGUSER=agent1",
		"PGPASSWORD=tok-agent1", "PGSSLMODE="+sslmode, "PGDATABASE=testdb", "PGCONNECT_TIMEOUT=10")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestPsql(t *testing.T) {
	e := newEnv(t)
	tbl := e.table(t, "t", "id int, name text", "VALUES (1, 'one'), (2, 'two')")
	secret := e.table(t, "secret", "id int", "")
	e.policy.set(func(p *testPolicy) { p.denied[secret] = true })
	for _, sslmode := range []string{"require", "disable"} {
		t.Run(sslmode, func(t *testing.T) {
			out, errs, code := runTool(t, e, sslmode, "psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
				"-c", "SELECT name FROM "+tbl+" ORDER BY id")
			if code != 0 || out != "one\ntwo\n" {
				t.Fatalf("psql: code %d out %q err %q", code, out, errs)
			}
			_, errs, code = runTool(t, e, sslmode, "psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
				"-c", "SELECT * FROM "+secret)
			if code == 0 || !containsAll(errs, "ERROR:  mandate: permission denied by policy", "HINT:") {
				t.Fatalf("psql denial: code %d err %q", code, errs)
			}
		})
	}
	// A script: the denial aborts the transaction, ROLLBACK recovers.
	script := "BEGIN;\nSELECT * FROM " + secret + ";\nSELECT 1;\nROLLBACK;\nSELECT 'after';\n"
	out, errs, code := runTool(t, e, "require", "psql", "-X", "-A", "-t", "-f", writeTemp(t, script))
	if code != 0 || !strings.Contains(out, "after") || !containsAll(errs, "permission denied", "current transaction is aborted") {
		t.Fatalf("script: code %d out %q err %q", code, out, errs)
	}
}

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	p := t.TempDir() + "/script.sql"
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPgbench(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	needTool(t, "pgbench")
	e := newEnv(t)
	db := "pgproxy_bench_" + randHex(4)
	admin(t, "CREATE DATABASE "+db)
	t.Cleanup(func() { admin(t, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	init := exec.Command("pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-U", "postgres", db)
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	e.policy.set(func(p *testPolicy) {
		p.conns["bench"] = &model.Connection{Name: "bench", Type: "postgres", Address: "127.0.0.1:5432",
			Database: db, Credential: model.Credential{Username: "postgres"}, TLSMode: "prefer"}
	})
	for _, mode := range []string{"simple", "extended", "prepared"} {
		t.Run(mode, func(t *testing.T) {
			out, errs, code := runTool(t, e, "require", "pgbench", "-S", "-n", "-c", "4", "-j", "2", "-t", "50", "-M", mode, "bench")
			if code != 0 || !strings.Contains(out, "number of transactions actually processed: 200/200") {
				t.Fatalf("pgbench -M %s: code %d\n%s\n%s", mode, code, out, errs)
			}
		})
	}
}
