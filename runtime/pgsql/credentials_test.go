package pgsql

import (
	"strings"
	"testing"
)

// TestCredentialReads: reading a credential column of the catalogs
// (password verifiers, user mapping options, subscription connection
// strings, large object contents), directly or through a star, a whole
// row, field notation, a subquery, a filter, a join, COPY, a cursor or a
// prepared statement, is forbidden whatever the grant; the other columns
// of the same catalogs, and the views PostgreSQL masks itself, are not.
func TestCredentialReads(t *testing.T) {
	cases := []struct {
		sql  string
		want string // in Forbidden; "" when the statement must not be forbidden
	}{
		// Password verifiers.
		{"SELECT rolpassword FROM pg_authid", "pg_catalog.pg_authid.rolpassword holds the password verifier"},
		{"SELECT rolname, rolpassword FROM pg_catalog.pg_authid WHERE rolname = 'postgres'", "no grant reads credentials"},
		{`SELECT "rolpassword" FROM "pg_catalog"."pg_authid"`, "pg_authid.rolpassword"},
		{"SELECT * FROM pg_authid", "a star or whole row of pg_catalog.pg_authid"},
		{"TABLE pg_authid", "pg_catalog.pg_authid"},
		{"SELECT a FROM pg_authid a", "pg_catalog.pg_authid"},
		{"SELECT a::text FROM pg_authid a", "pg_catalog.pg_authid"},
		{"SELECT to_json(a) FROM pg_authid a", "pg_catalog.pg_authid"},
		{"SELECT row_to_json(a.*) FROM pg_authid a", "pg_catalog.pg_authid"},
		{"SELECT a.to_jsonb FROM pg_authid a", "pg_catalog.pg_authid"},
		{"SELECT (a).rolpassword FROM pg_authid a", "pg_catalog.pg_authid"},
		{"SELECT x FROM pg_authid AS a(x, y, z)", "pg_catalog.pg_authid"},
		{"SELECT x.p FROM (SELECT rolpassword AS p FROM pg_authid) x", "pg_authid.rolpassword"},
		{"WITH c AS (SELECT * FROM pg_authid) SELECT rolname FROM c", "pg_catalog.pg_authid"},
		{"SELECT (SELECT max(rolpassword) FROM pg_authid)", "pg_authid.rolpassword"},
		{"SELECT count(*) FROM pg_authid WHERE rolpassword LIKE 'SCRAM-SHA-256$4096:%'", "pg_authid.rolpassword"},
		{"SELECT rolname FROM pg_authid ORDER BY rolpassword", "pg_authid.rolpassword"},
		{"SELECT 1 FROM pg_authid JOIN (SELECT 'x' AS rolpassword) g USING (rolpassword)", "pg_authid.rolpassword"},
		{"SELECT 1 FROM pg_authid NATURAL JOIN (SELECT 'x' AS rolpassword) g", "pg_catalog.pg_authid"},
		{"SELECT rolname, rolpassword FROM pg_authid, pg_roles", "pg_authid.rolpassword"},
		{"SELECT passwd FROM pg_shadow", "pg_catalog.pg_shadow.passwd"},
		{"SELECT s.* FROM pg_catalog.pg_shadow s", "pg_catalog.pg_shadow"},
		{"COPY pg_authid TO STDOUT", "pg_catalog.pg_authid"},
		{"COPY pg_catalog.pg_shadow (usename, passwd) TO STDOUT", "pg_shadow.passwd"},
		{"COPY (SELECT rolpassword FROM pg_authid) TO STDOUT", "pg_authid.rolpassword"},
		{"DECLARE c CURSOR FOR SELECT rolpassword FROM pg_authid", "pg_authid.rolpassword"},
		{"PREPARE p AS SELECT passwd FROM pg_shadow", "pg_shadow.passwd"},
		{"EXPLAIN SELECT rolpassword FROM pg_authid", "pg_authid.rolpassword"},
		// Passwords of other servers, subscriptions, large objects.
		{"SELECT umoptions FROM pg_user_mapping", "pg_catalog.pg_user_mapping.umoptions holds the options of user mappings"},
		{"SELECT srvname, umoptions FROM pg_user_mappings", "pg_catalog.pg_user_mappings.umoptions"},
		{"SELECT * FROM pg_catalog.pg_user_mappings", "pg_catalog.pg_user_mappings"},
		{"SELECT o.option_value FROM pg_user_mappings um, pg_options_to_table(um.umoptions) o", "pg_user_mappings.umoptions"},
		{"SELECT option_value FROM information_schema.user_mapping_options", "information_schema.user_mapping_options.option_value"},
		{"SELECT umoptions FROM information_schema._pg_user_mappings", "information_schema._pg_user_mappings.umoptions"},
		{"SELECT subconninfo FROM pg_subscription", "pg_catalog.pg_subscription.subconninfo holds the connection strings"},
		{"SELECT s FROM pg_subscription s", "pg_catalog.pg_subscription"},
		{"SELECT data FROM pg_largeobject", "pg_catalog.pg_largeobject.data holds the contents of every large object"},
		{"SELECT string_agg(encode(data, 'escape'), '') FROM pg_largeobject WHERE loid = 1", "pg_largeobject.data"},
		// Writing the catalogs of roles and credentials.
		{"UPDATE pg_authid SET rolsuper = true WHERE rolname = 'x'", "writing pg_catalog.pg_authid"},
		{"INSERT INTO pg_catalog.pg_auth_members (roleid, member, grantor, admin_option) VALUES (10, 16384, 10, false)", "writing pg_catalog.pg_auth_members"},
		{"DELETE FROM pg_user_mapping", "writing pg_catalog.pg_user_mapping"},
		{"UPDATE pg_db_role_setting SET setconfig = '{}'", "writing pg_catalog.pg_db_role_setting"},

		// What catalog readers issue keeps its grant's decision.
		{"SELECT rolname, rolsuper, rolcanlogin FROM pg_authid", ""},
		{"SELECT count(*) FROM pg_authid", ""},
		{"COPY pg_authid (rolname) TO STDOUT", ""},
		{"SELECT rolname, rolpassword FROM pg_roles", ""}, // '********'
		{"SELECT usename, passwd FROM pg_user", ""},       // '********'
		{"SELECT um.srvname, um.usename FROM pg_catalog.pg_user_mappings um ORDER BY 1, 2", ""},
		{"SELECT authorization_identifier, foreign_server_name, option_name FROM information_schema.user_mapping_options", ""},
		{"SELECT srvname, srvoptions FROM pg_foreign_server", ""},
		{"SELECT fdwname, fdwoptions FROM pg_foreign_data_wrapper", ""},
		{"SELECT subname, subenabled FROM pg_subscription", ""},
		{"SELECT loid, pageno FROM pg_largeobject", ""},
		{"SELECT oid, lomowner FROM pg_largeobject_metadata", ""},
		{"SELECT rolname FROM pg_authid FOR SHARE", "writing pg_catalog.pg_authid"}, // a row lock is a write class
	}
	checkForbidden(t, cases)
}

// TestCredentialViews: a catalog view over credentials keeps the lineage
// of its other columns (psql's \deu reads pg_user_mappings' srvname and
// usename where masking applies), and its columns computed from
// credentials are of unknown origin.
func TestCredentialViews(t *testing.T) {
	def := `SELECT u.oid AS umid, s.srvname,
	CASE WHEN u.umuser = 0 THEN 'public'::name ELSE a.rolname END AS usename,
	CASE WHEN (SELECT pg_authid.rolsuper FROM pg_authid WHERE pg_authid.rolname = CURRENT_USER) THEN u.umoptions ELSE NULL::text[] END AS umoptions
	FROM pg_user_mapping u JOIN pg_foreign_server s ON u.umserver = s.oid LEFT JOIN pg_authid a ON a.oid = u.umuser`
	v, err := ViewFromDefinition([]string{"umid", "srvname", "usename", "umoptions"}, def, Options{SearchPath: []string{"public"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, unknown := range []bool{false, false, false, true} {
		if v.Outputs[i].Unknown != unknown {
			t.Errorf("%s: unknown = %v, want %v (%+v)", v.Columns[i], v.Outputs[i].Unknown, unknown, v.Outputs[i])
		}
	}
	if got := v.Outputs[1].Sources; len(got) != 1 || got[0] != "pg_catalog.pg_foreign_server.srvname" {
		t.Errorf("srvname: sources %v", got)
	}
	// A view that also reads something refused for another reason stays
	// of unknown origin throughout.
	v, err = ViewFromDefinition([]string{"n", "p"}, "SELECT s.attname AS n, a.rolpassword AS p FROM pg_stats s, pg_authid a", Options{SearchPath: []string{"public"}})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Outputs[0].Unknown || !v.Outputs[1].Unknown {
		t.Errorf("a view over pg_stats and credentials: %+v", v.Outputs)
	}
}

// forbiddenCase is a statement and the part of its Forbidden reason a
// test wants ("": the statement must not be forbidden, its grant decides).
type forbiddenCase = struct {
	sql  string
	want string
}

// checkForbidden analyzes each case's statement and checks its Forbidden
// reason, and that of a prepared statement's own analysis.
func checkForbidden(t *testing.T, cases []forbiddenCase) {
	t.Helper()
	for _, tc := range cases {
		res, err := Analyze(tc.sql, Options{SearchPath: []string{"public"}})
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		got := res[0].Statement.Forbidden
		if p := res[0].Prepared; p != nil && p.Statement.Forbidden == "" && tc.want != "" {
			t.Errorf("%s: the prepared statement is not forbidden", tc.sql)
		}
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s: forbidden (%s), want its grant to decide", tc.sql, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s: forbidden %q, want %q in it", tc.sql, got, tc.want)
		}
	}
}
