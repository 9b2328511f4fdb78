package pgsql

import (
	"slices"
	"testing"
)

// TestOtherSessionsText: reading the statement text of other sessions
// (pg_stat_activity.query, the functions behind it, the pg_stat_statements
// extension in any schema), directly or through a star, a whole row, a
// filter, COPY, a cursor or a prepared statement, is forbidden whatever
// the grant; the other columns of the same views, and the session's own
// prepared statements and cursors, are not.
func TestOtherSessionsText(t *testing.T) {
	const refusal = "no grant reads the statements of other sessions"
	cases := []struct {
		sql  string
		want string // in Forbidden; "" when the statement must not be forbidden
	}{
		{"SELECT query FROM pg_stat_activity", "pg_catalog.pg_stat_activity.query holds the text of the statement every session"},
		{"SELECT pid, query FROM pg_catalog.pg_stat_activity WHERE state = 'idle in transaction'", refusal},
		{`SELECT "query" FROM "pg_catalog"."pg_stat_activity"`, refusal},
		{"SELECT * FROM pg_stat_activity", "a star or whole row of pg_catalog.pg_stat_activity"},
		{"TABLE pg_stat_activity", "pg_catalog.pg_stat_activity"},
		{"SELECT a FROM pg_stat_activity a", "pg_catalog.pg_stat_activity"},
		{"SELECT to_json(a) FROM pg_stat_activity a", "pg_catalog.pg_stat_activity"},
		{"SELECT a.to_jsonb FROM pg_stat_activity a", "pg_catalog.pg_stat_activity"},
		{"SELECT (a).query FROM pg_stat_activity a", refusal},
		{"SELECT q FROM pg_stat_activity AS a(d, n, p)", "pg_catalog.pg_stat_activity"},
		{"SELECT x.q FROM (SELECT query AS q FROM pg_stat_activity) x", refusal},
		{"WITH c AS (SELECT * FROM pg_stat_activity) SELECT pid FROM c", refusal},
		{"SELECT (SELECT string_agg(query, ',') FROM pg_stat_activity)", refusal},
		{"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%PASSWORD%'", refusal},
		{"SELECT pid FROM pg_stat_activity ORDER BY query", refusal},
		{"SELECT 1 FROM pg_stat_activity JOIN (SELECT 'x' AS query) g USING (query)", refusal},
		{"SELECT 1 FROM pg_stat_activity NATURAL JOIN (SELECT 'x' AS query) g", refusal},
		{"SELECT query FROM pg_stat_activity, pg_class", refusal}, // unqualified: either table's
		{"COPY (SELECT query FROM pg_stat_activity) TO STDOUT", refusal},
		{"DECLARE c CURSOR FOR SELECT query FROM pg_stat_activity", refusal},
		{"PREPARE p AS SELECT query FROM pg_stat_activity", refusal},
		{"EXPLAIN ANALYZE SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'x%'", refusal},
		{"CREATE VIEW v AS SELECT query FROM pg_stat_activity", refusal},
		// The functions behind the view: any call.
		{"SELECT query FROM pg_stat_get_activity(NULL)", "pg_stat_get_activity returns the text"},
		{"SELECT pid FROM pg_catalog.pg_stat_get_activity(NULL::integer)", "pg_stat_get_activity returns the text"},
		{"SELECT (pg_stat_get_activity(NULL)).query", refusal},
		{"SELECT pg_stat_get_backend_activity(b) FROM pg_stat_get_backend_idset() b", "pg_stat_get_backend_activity returns the text"},
		{"SELECT 1 WHERE EXISTS (SELECT 1 FROM pg_stat_get_activity(NULL) s WHERE s.query LIKE 'x%')", refusal},
		// pg_stat_statements, in any schema.
		{"SELECT query FROM pg_stat_statements", "pg_stat_statements.query (the pg_stat_statements extension's view"},
		{"SELECT * FROM public.pg_stat_statements", "a star or whole row of pg_stat_statements"},
		{"SELECT s.query FROM ext.pg_stat_statements s", refusal},
		{`SELECT query FROM "my.ext".pg_stat_statements`, refusal},
		{"SELECT count(*) FROM monitoring.pg_stat_statements WHERE query LIKE 'ALTER ROLE%'", refusal},
		{"SELECT query FROM pg_stat_statements(true)", "pg_stat_statements (the extension's function"},
		{"SELECT calls FROM ext.pg_stat_statements(false)", refusal},

		// What monitoring tools and psql read keeps its grant's decision.
		{"SELECT pid, usename, application_name, client_addr, state, backend_type, wait_event, backend_xid, query_id FROM pg_stat_activity", ""},
		{"SELECT count(*) FROM pg_stat_activity", ""},
		{"SELECT pid FROM pg_stat_activity WHERE application_name = 'x' AND state = 'idle'", ""},
		{"SELECT pid, ssl, version, client_dn FROM pg_stat_ssl", ""},
		{"SELECT * FROM pg_stat_ssl", ""},
		{"SELECT * FROM pg_stat_gssapi", ""},
		{"SELECT * FROM pg_locks", ""},
		{"SELECT gid FROM pg_prepared_xacts", ""},
		{"SELECT * FROM pg_stat_progress_vacuum", ""},
		{"SELECT * FROM pg_stat_replication", ""},
		{"SELECT name, statement FROM pg_prepared_statements", ""},
		{"SELECT name, statement FROM pg_cursors", ""},
		{"SELECT userid, calls, total_exec_time FROM pg_stat_statements", ""},
		{"SELECT pg_backend_pid(), inet_server_addr(), current_user", ""},
		{"SELECT query FROM app.pg_stat_activity", ""},                               // a table of the application
		{"SELECT query FROM app.pg_stat_statements_log", ""},                         // another relation
		{"SELECT app.pg_stat_get_activity(1)", ""},                                   // another function (its grant decides)
		{"SELECT x.query FROM (SELECT 'a' AS query) x", ""},                          // no relation
		{"SELECT pg_stat_get_backend_pid(b) FROM pg_stat_get_backend_idset() b", ""}, // its grant decides
	}
	checkForbidden(t, cases)
}

// TestOtherSessionsViews: where masking applies the proxy expands views.
// pg_stat_activity's own definition calls pg_stat_get_activity (reported
// as code, which masking denies); a view an administrator created over
// pg_stat_activity keeps the lineage of its other columns and its query
// column is of unknown origin.
func TestOtherSessionsViews(t *testing.T) {
	opts := Options{SearchPath: []string{"public"}}
	def := `SELECT s.datid, d.datname, s.pid, u.rolname AS usename, s.state, s.query
	FROM pg_stat_get_activity(NULL::integer) s(datid, pid, usesysid, application_name, state, query)
	LEFT JOIN pg_database d ON s.datid = d.oid LEFT JOIN pg_authid u ON s.usesysid = u.oid`
	v, err := ViewFromDefinition([]string{"datid", "datname", "pid", "usename", "state", "query"}, def, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(v.Code, "pg_stat_get_activity") {
		t.Errorf("code: %v", v.Code)
	}
	if !v.Outputs[5].Unknown {
		t.Errorf("query: %+v", v.Outputs[5])
	}
	v, err = ViewFromDefinition([]string{"pid", "q"}, "SELECT a.pid, a.query AS q FROM pg_stat_activity a", opts)
	if err != nil {
		t.Fatal(err)
	}
	if v.Outputs[0].Unknown || !slices.Equal(v.Outputs[0].Sources, []string{"pg_catalog.pg_stat_activity.pid"}) {
		t.Errorf("pid: %+v", v.Outputs[0])
	}
	if !v.Outputs[1].Unknown {
		t.Errorf("q: %+v", v.Outputs[1])
	}
}
