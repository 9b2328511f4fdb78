package pgsql

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
)

// pgDSN is the local PostgreSQL the tests use.
const pgDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// connectPG connects to the local PostgreSQL, or skips (fails under CI).
func connectPG(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgDSN)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("connecting to PostgreSQL: %v", err)
		}
		t.Skipf("PostgreSQL not reachable at %s: %v", pgDSN, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// unsafeToRun are escape cases not executed against the shared server:
// they would disturb other sessions, wait, leave state behind (a
// replication slot outlives the rolled-back transaction), or need COPY
// sub-protocols.
var unsafeToRun = map[string]bool{
	"terminate backend": true, "terminate qualified": true, "cancel backend": true,
	"reload conf": true, "sleep": true, "switch wal": true, "stat reset": true,
	"replication slot": true, "slot needs a write": true, "copy to program": true, "copy from program": true,
	"copy query to program": true, "copy to file": true, "copy from file": true,
	"copy out": true, "copy query out": true, "copy delete returning": true, "copy in": true,
	"copy in where": true, "out copy": true, "out copy query": true, "load": true,
	"alter system": true, "checkpoint": true, "subscription": true,
}

// TestEscapesAgainstPostgres runs every escape attempt in a READ ONLY
// transaction on the real server: whenever PostgreSQL refuses a statement
// because it would write (SQLSTATE 25006), the analysis must have flagged
// it (a write class, a reported function, forbidden, or READ WRITE). This
// checks the analyzer against the server's own notion of a write.
func TestEscapesAgainstPostgres(t *testing.T) {
	conn := connectPG(t)
	ctx := context.Background()
	schema := fmt.Sprintf("mandate_pgsql_%d", time.Now().UnixNano())
	setup := fmt.Sprintf(`CREATE SCHEMA %[1]s;
		CREATE TABLE %[1]s.t (id int PRIMARY KEY, x int, v text);
		CREATE TABLE %[1]s.s (id int, v int, del bool, email text);
		CREATE TABLE %[1]s.users (id int, email text, name text);
		CREATE SEQUENCE %[1]s.seq; CREATE SEQUENCE %[1]s.s_seq;
		CREATE MATERIALIZED VIEW %[1]s.mv AS SELECT 1 AS one;
		CREATE UNIQUE INDEX ON %[1]s.mv (one);
		INSERT INTO %[1]s.t VALUES (1, 1, 'a'); INSERT INTO %[1]s.s VALUES (1, 1, false, 'a');
		INSERT INTO %[1]s.users VALUES (1, 'a@b.c', 'A');`, schema)
	if _, err := conn.Exec(ctx, setup); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	// Escape cases name the schema "app".
	opts := Options{SearchPath: []string{"app"}}

	refused := 0
	for _, tc := range escapeCases {
		if unsafeToRun[tc.name] {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			code := runReadOnly(t, conn, schema, tc.sql)
			if code != "25006" {
				return
			}
			refused++
			res, err := Analyze(tc.sql, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !flagsWrite(res) {
				t.Errorf("PostgreSQL refused %q as a write in a read-only transaction, but the analysis allows it as a read:%s", tc.sql, describe(res))
			}
		})
	}
	if refused < 30 {
		t.Errorf("only %d statements were refused as writes; the check is not exercising the server", refused)
	}
}

// runReadOnly runs sql in a rolled-back READ ONLY transaction and returns
// the SQLSTATE of its error ("" when it succeeded).
func runReadOnly(t *testing.T, conn *pgx.Conn, schema, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "BEGIN READ ONLY; SET LOCAL search_path = "+schema+"; SET LOCAL statement_timeout = '3s'"); err != nil {
		t.Fatalf("begin: %v", err)
	}
	_, err := conn.PgConn().Exec(ctx, sql).ReadAll()
	if _, rerr := conn.Exec(ctx, "ROLLBACK; DEALLOCATE ALL; CLOSE ALL"); rerr != nil {
		t.Fatalf("rollback: %v", rerr)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	if err != nil {
		t.Fatalf("running %q: %v", sql, err)
	}
	return ""
}

// flagsWrite reports whether the analysis stops a read-only grant.
func flagsWrite(res []*Analyzed) bool {
	for _, r := range res {
		st := r.Statement
		if st.Forbidden != "" || len(st.Functions) > 0 || r.ReadWrite {
			return true
		}
		for _, x := range st.Accesses {
			if slices.Contains(model.WriteClasses, x.Class) || x.Class == "update" {
				return true
			}
		}
	}
	return false
}
