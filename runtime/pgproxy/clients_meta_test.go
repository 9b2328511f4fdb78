package pgproxy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// metaPolicy is a compiled policy in which agent1, on connection testdb
// (the names runTool connects with), reads one table with column masking
// and holds the catalog grant GUI tools, pgjdbc's DatabaseMetaData and
// psql's \d need: select on pg_catalog.* and information_schema.*.
var metaPolicy = map[string]string{
	"connections.hcl": `
connection "testdb" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "test"
  credential {
    username = "postgres"
  }
  tls {
    mode = "require"
  }
}
`,
	"agents.hcl": `
agent "agent1" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "agent1"
  }
  roles = [role.browser]
}
`,
	"masking.hcl": `
masking "pii" {
  column "public.PREFIX_people.ssn" {
    method = "redact"
  }
  column "public.PREFIX_people.email" {
    method = "partial"
  }
}
`,
	"roles.hcl": `
role "browser" {
  description = "Reads people, masked, and the catalogs, as database tools do"

  postgres "testdb" {
    statements = ["select"]
    tables     = ["public.PREFIX_people", "pg_catalog.*", "information_schema.*"]
    masking    = [masking.pii]
  }
}
`,
}

// TestCatalogMetadataRealPolicy: under a compiled policy, an agent whose
// grant masks columns and covers the catalogs can read table metadata
// with pgjdbc and psql, while the masked values stay masked and the
// catalogs that hold copies of column values stay denied.
func TestCatalogMetadataRealPolicy(t *testing.T) {
	requirePostgres(t)
	src := t.TempDir()
	for name, hcl := range metaPolicy {
		if err := os.WriteFile(filepath.Join(src, name), []byte(hcl), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prefix := "pgp_" + randHex(4)
	pol := &enginePolicy{}
	pol.cur.Store(realPolicyFrom(t, src, prefix))
	e := newEnv(t, func(c *Config) { c.Policy = pol })
	e.prefix = prefix

	// Two rows share an ssn, so ANALYZE keeps it in most_common_vals.
	const secret = "123-45-6789"
	people := e.table(t, "people", "id int primary key, name text, ssn text, email text",
		"VALUES (1, 'Ann', '"+secret+"', 'ann@example.com'), (2, 'Bob', '"+secret+"', 'bob@example.com'), (3, 'Cy', '987-65-4321', 'cy@example.com')")
	name := strings.TrimPrefix(people, "public.")
	admin(t, "CREATE INDEX "+name+"_ssn_idx ON "+people+" (ssn)")
	admin(t, "ANALYZE "+people)
	ctx := context.Background()
	ac := pgconnTo(t, adminDSN)
	res := ac.ExecParams(ctx, "SELECT most_common_vals::text FROM pg_stats WHERE tablename = $1 AND attname = 'ssn'",
		[][]byte{[]byte(name)}, nil, nil, nil).Read()
	if res.Err != nil || len(res.Rows) != 1 || !strings.Contains(string(res.Rows[0][0]), secret) {
		t.Fatalf("precondition: pg_stats upstream holds the ssn: %v %q", res.Err, res.Rows)
	}

	t.Run("jdbc", func(t *testing.T) {
		needTool(t, "java")
		_, err := os.Stat(pgjdbcJar)
		needClient(t, "pgjdbc ("+pgjdbcJar+", libpostgresql-jdbc-java)", err == nil)
		out, errs, code := runTool(t, e, "require", "java", "-cp", pgjdbcJar, "testdata/clients/java/Meta.java", people)
		if code != 0 {
			t.Fatalf("Meta.java: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
		compareLines(t, []string{
			"tables " + people + ":TABLE",
			"columns id:int4:NO;name:text:YES;ssn:text:YES;email:text:YES",
			"primarykeys id:1:" + name + "_pkey",
			"indexes " + name + "_pkey:id:1:unique=true;" + name + "_ssn_idx:ssn:1:unique=false",
			"masked 1,Ann,[REDACTED],a***@example.com", // partial keeps the first letter
			"done",
		}, strings.Split(strings.TrimSuffix(out, "\n"), "\n"))
	})

	t.Run("psql", func(t *testing.T) {
		for _, tc := range []struct {
			cmd  string
			want []string
		}{
			{`\d ` + people, []string{
				`Table "` + people + `"`,
				"id|integer||not null|",
				"name|text|||",
				"ssn|text|||",
				"email|text|||",
				`"` + name + `_pkey" PRIMARY KEY, btree (id)`,
				`"` + name + `_ssn_idx" btree (ssn)`,
			}},
			{`\dt public.` + prefix + `_*`, []string{"public|" + name + "|table|postgres"}},
			{`\dt`, []string{"public|" + name + "|table|postgres"}},
		} {
			t.Run(tc.cmd, func(t *testing.T) {
				out, errs, code := runTool(t, e, "require", "psql", "-X", "-A", "-v", "ON_ERROR_STOP=1", "-c", tc.cmd)
				if code != 0 || errs != "" || !containsAll(out, tc.want...) {
					t.Fatalf("psql -c %q: exit %d\nstdout:\n%s\nstderr:\n%s\nwant lines %q", tc.cmd, code, out, errs, tc.want)
				}
			})
		}
	})

	// Reading copies of the masked values through the catalogs stays
	// denied (as in TestAdversarialMasking), and the session goes on.
	t.Run("value catalogs", func(t *testing.T) {
		c := e.connect(t, "require")
		for _, sql := range []string{
			"SELECT attname, most_common_vals::text FROM pg_stats WHERE tablename = '" + name + "' AND attname = 'ssn'",
			"SELECT histogram_bounds::text FROM pg_catalog.pg_stats WHERE tablename = '" + name + "'",
			"SELECT count(*) FROM pg_stats WHERE most_common_vals::text LIKE '%123-%'",
			"SELECT stavalues1::text FROM pg_catalog.pg_statistic",
		} {
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
				var s string
				err := c.QueryRow(ctx, sql, mode).Scan(&s)
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, "pg_catalog.pg_stat") {
					t.Errorf("%s (%v): got %q, %v; want a 42501 denial naming the catalog", sql, mode, s, err)
				} else if strings.Contains(pe.Message+pe.Detail+pe.Hint, secret) {
					t.Errorf("%s (%v): the error holds the secret: %v", sql, mode, err)
				}
			}
		}
		var ssn string
		if err := c.QueryRow(ctx, "SELECT ssn FROM "+people+" WHERE id = 1").Scan(&ssn); err != nil || ssn != "[REDACTED]" {
			t.Fatalf("after the denials: ssn %q, %v", ssn, err)
		}
	})
}
