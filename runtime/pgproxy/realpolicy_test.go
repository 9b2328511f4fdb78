package pgproxy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/decision"
)

// enginePolicy serves the active decision engine, as the gateway does.
type enginePolicy struct {
	cur atomic.Pointer[decision.Engine]
}

func (p *enginePolicy) Decide(ctx context.Context, in *model.Input) (model.Decision, error) {
	return p.cur.Load().Decide(ctx, in)
}

func (p *enginePolicy) Connection(name string) (*model.Connection, bool) {
	c, ok := p.cur.Load().Policy().Connections[name]
	return c, ok
}

func (p *enginePolicy) Masking(name string) (*model.Masking, bool) {
	m, ok := p.cur.Load().Policy().Maskings[name]
	return m, ok
}

func (p *enginePolicy) Revision() string { return p.cur.Load().Revision() }

// realPolicy compiles testdata/policy (PREFIX replaced by prefix) with the
// compiler, signs and loads the bundle, and builds a decision engine.
func realPolicy(t testing.TB, prefix string) *decision.Engine {
	t.Helper()
	return realPolicyFrom(t, "testdata/policy", prefix)
}

// realPolicyFrom is realPolicy for the policy fixtures in src.
func realPolicyFrom(t testing.TB, src, prefix string) *decision.Engine {
	t.Helper()
	return realPolicyWith(t, src, prefix, nil)
}

// realPolicyWith is realPolicyFrom with extra policy files (name to HCL)
// beside src's.
func realPolicyWith(t testing.TB, src, prefix string, extra map[string]string) *decision.Engine {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(src, "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("policy fixtures: %v", err)
	}
	write := func(name string, b []byte) {
		b = bytes.ReplaceAll(b, []byte("PREFIX"), []byte(prefix))
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Base(f), b)
	}
	for name, hcl := range extra {
		write(name, []byte(hcl))
	}
	repo, diags := compiler.Load(dir, compiler.Options{})
	if diags.HasErrors() {
		t.Fatalf("compiling policy: %s", diags.Error())
	}
	priv, pub, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Build(repo.Policy, bundle.Options{Revision: "rev-" + prefix, SigningKey: priv})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	l, err := bundle.Load(&buf, map[string][]byte{b.KeyID: pub}, bundle.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := decision.New(context.Background(), l, decision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func TestRealPolicy(t *testing.T) {
	requirePostgres(t)
	prefix := "pgp_" + randHex(4)
	pol := &enginePolicy{}
	pol.cur.Store(realPolicy(t, prefix))
	e := newEnv(t, func(c *Config) { c.Policy = pol })
	e.prefix = prefix
	orders := e.table(t, "orders", "id int primary key, status text, customer int", "VALUES (1, 'open', 1)")
	customers := e.table(t, "customers", "id int primary key, name text, ssn text, email text, note text",
		"VALUES (1, 'Ann', '123-45-6789', 'ann@example.com', 'paid with 4111 1111 1111 1111')")
	connect := func(agent string) *pgx.Conn {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, strings.NewReplacer("dbname=testdb", "dbname=shop", "agent1", agent).Replace(e.dsn("agent1", "require")))
		if err != nil {
			t.Fatalf("connecting as %s: %v", agent, err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	ctx := context.Background()
	planner := connect("planner")

	var ro string
	if err := planner.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&ro); err != nil || ro != "on" {
		t.Fatalf("read-only session upstream: %q %v", ro, err)
	}
	var name, ssn, email, note string
	err := planner.QueryRow(ctx, "SELECT name, ssn, email, note FROM "+customers+" WHERE id = 1").Scan(&name, &ssn, &email, &note)
	if err != nil {
		t.Fatal(err)
	}
	if name != "Ann" || ssn != "[REDACTED]" || strings.Contains(email, "ann@") || strings.Contains(note, "4111 1111") {
		t.Fatalf("masking: name %q ssn %q email %q note %q", name, ssn, email, note)
	}

	denials := []struct {
		sql  string
		want string // in the message or hint
	}{
		{"UPDATE " + orders + " SET status = 'x'", "requestable with approval"},
		{"INSERT INTO " + customers + " (id) VALUES (2)", "permission denied"},
		{"SELECT id FROM " + customers + " WHERE ssn = '123-45-6789'", ""},
		{"SET default_transaction_read_only = off", ""},
		{"WITH d AS (DELETE FROM " + orders + " RETURNING *) SELECT * FROM d", ""},
		{"COPY " + orders + " TO STDOUT", ""},
		{"DO $$ BEGIN DELETE FROM " + orders + "; END $$", ""},
		{"SELECT * FROM pg_catalog.pg_authid", ""},
		{"BEGIN READ WRITE", ""},
	}
	for _, d := range denials {
		_, err := planner.Exec(ctx, d.sql, pgx.QueryExecModeSimpleProtocol)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege {
			t.Errorf("%s: err = %v, want 42501", d.sql, err)
			continue
		}
		if !strings.Contains(pe.Message+" "+pe.Hint, d.want) {
			t.Errorf("%s: %q hint %q, want %q", d.sql, pe.Message, pe.Hint, d.want)
		}
	}
	// Views: results and filters reach the base columns.
	view := customers + "_v"
	admin(t, "CREATE VIEW "+view+" AS SELECT id, lower(ssn) AS s, email AS e FROM "+customers)
	t.Cleanup(func() { admin(t, "DROP VIEW IF EXISTS "+view) })
	var s string
	if err := planner.QueryRow(ctx, "SELECT s FROM "+view).Scan(&s); err != nil || s != "[REDACTED]" {
		t.Fatalf("view over a masked column: %q %v", s, err)
	}
	_, err = planner.Exec(ctx, "SELECT id FROM "+view+" WHERE s = '123-45-6789'")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege {
		t.Fatalf("filter on a view column over a masked column: %v", err)
	}
	if _, err := planner.Exec(ctx, "SELECT id FROM "+view+" WHERE e = 'x'"); err != nil {
		t.Fatalf("filter on a view column over an allow_filter column: %v", err)
	}

	// The session is still usable, and filtering on an allow_filter column works.
	var n int
	if err := planner.QueryRow(ctx, "SELECT count(*) FROM "+customers+" WHERE email = 'ann@example.com'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("allow_filter: n=%d err=%v", n, err)
	}

	clerk := connect("clerk")
	if _, err := clerk.Exec(ctx, "UPDATE "+orders+" SET status = 'shipped' WHERE id = 1"); err != nil {
		t.Fatalf("writer update: %v", err)
	}
	if _, err := clerk.Exec(ctx, "SELECT * FROM "+customers); err == nil {
		t.Fatal("writer read customers")
	}
}
