package pgsql

import "testing"

// TestSystemAccess: no grant writes, locks or alters the system catalogs
// or information_schema, and none reads or writes a TOAST table, whatever
// its table patterns cover (pg_catalog.*, *.*); reading the catalogs stays
// with the grant.
func TestSystemAccess(t *testing.T) {
	cases := []struct {
		sql  string
		want string // in Forbidden; "" when the grant decides
	}{
		// Writing the catalogs: renaming a masked column out of its rule,
		// turning row-level security off, rewriting a function's body.
		{"UPDATE pg_attribute SET attname = 'x' WHERE attrelid = 'customers'::regclass AND attname = 'ssn'", "pg_catalog.pg_attribute changes PostgreSQL's own catalog"},
		{"UPDATE pg_catalog.pg_class SET relrowsecurity = false WHERE relname = 'customers'", "pg_catalog.pg_class"},
		{"UPDATE pg_proc SET prosrc = 'select 1' WHERE proname = 'f'", "pg_catalog.pg_proc"},
		{"INSERT INTO pg_catalog.pg_cast SELECT * FROM pg_cast LIMIT 1", "pg_catalog.pg_cast"},
		{"DELETE FROM pg_trigger", "pg_catalog.pg_trigger"},
		{"DELETE FROM pg_catalog.pg_policy", "pg_catalog.pg_policy"},
		{"TRUNCATE pg_catalog.pg_description", "pg_catalog.pg_description"},
		{"WITH d AS (DELETE FROM pg_rewrite RETURNING 1) SELECT 1", "pg_catalog.pg_rewrite"},
		{"MERGE INTO pg_catalog.pg_class c USING (SELECT 1 AS oid) s ON c.oid = s.oid WHEN MATCHED THEN DELETE", "pg_catalog.pg_class"},
		{"COPY pg_catalog.pg_namespace FROM STDIN", "pg_catalog.pg_namespace"},
		{"LOCK TABLE pg_catalog.pg_class IN ACCESS EXCLUSIVE MODE", "pg_catalog.pg_class"},
		{"LOCK pg_proc", "pg_catalog.pg_proc"},
		{"SELECT relname FROM pg_class FOR UPDATE", "pg_catalog.pg_class"},
		{"ALTER TABLE pg_catalog.pg_class ADD COLUMN x int", "pg_catalog.pg_class"},
		{"CREATE TRIGGER t BEFORE UPDATE ON pg_catalog.pg_class FOR EACH ROW EXECUTE FUNCTION f()", "pg_catalog.pg_class"},
		{"DROP TABLE pg_catalog.pg_description", "pg_catalog.pg_description"},
		{"UPDATE information_schema.sql_features SET is_supported = 'NO'", "information_schema.sql_features"},
		{"PREPARE p AS UPDATE pg_attribute SET attnotnull = false", "pg_catalog.pg_attribute"},
		// TOAST tables hold other tables' long values.
		{"SELECT chunk_data FROM pg_toast.pg_toast_16384", "pg_toast.pg_toast_16384 is a TOAST table"},
		{"SELECT count(*) FROM pg_toast.pg_toast_16384", "TOAST table"},
		{"SELECT * FROM pg_toast_temp_3.pg_toast_16999", "TOAST table"},
		{"COPY pg_toast.pg_toast_16384 TO STDOUT", "TOAST table"},
		{"DELETE FROM pg_toast.pg_toast_16384", "TOAST table"},
		{"SELECT 1 FROM t WHERE EXISTS (SELECT 1 FROM pg_toast.pg_toast_16384 WHERE chunk_seq = 0)", "TOAST table"},

		// Reading the catalogs keeps its grant's decision.
		{"SELECT relname, relkind FROM pg_class", ""},
		{"SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = 16384", ""},
		{"COPY pg_catalog.pg_namespace TO STDOUT", ""},
		{"SELECT table_name FROM information_schema.tables", ""},
		{"SELECT reltoastrelid::regclass FROM pg_class WHERE relname = 'customers'", ""},
		// Names like the system schemas' in other schemas are ordinary.
		{"UPDATE public.pg_class SET x = 1", ""},
		{"UPDATE app.pg_toast SET x = 1", ""},
		{"SELECT * FROM pg_toaster.t", ""},
	}
	checkForbidden(t, cases)
}
