package pgproxy

import (
	"context"
	"testing"
)

// The system catalogs and TOAST tables under a grant whose table patterns
// cover them (*.*, pg_catalog.*), through the upstream superuser:
//
//   - writes to the catalogs change what the gateway's rules rest on:
//     UPDATE pg_attribute SET attname renames a masked column out of its
//     rule (the rule names the column; the catalog lookup then finds no
//     such column), and UPDATE pg_class SET relrowsecurity = false turns
//     row-level security off; LOCK TABLE pg_class stops every session;
//   - a TOAST table (pg_toast.pg_toast_OID) holds the stored bytes of
//     another table's long values, so a masked column's long value is
//     read there raw.
//
// Both are refused for every grant (runtime/pgsql systemAccess).
const syscatPolicy = `
role "sys24" {
  postgres "adv" {
    statements = ["select", "insert", "update", "delete"]
    tables     = ["*.*"]
    functions  = ["convert_from"]
    masking    = [masking.pii]
  }
}

agent "sys24" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "sys24"
  }
  roles = [role.sys24]
}
`

// TestAdversarialSystemCatalogs: see syscatPolicy.
func TestAdversarialSystemCatalogs(t *testing.T) {
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"syscat.hcl": syscatPolicy}))

	// A long masked value stored out of line, uncompressed.
	secret := "toastssn-" + randHex(8)
	admin(t, a.sql("ALTER TABLE P_cust ALTER ssn SET STORAGE EXTERNAL"))
	admin(t, a.sql("INSERT INTO P_cust (id, name, ssn) VALUES (9001, 'long', '"+secret+"' || repeat(md5('x'), 200))"))
	advSecretsExtra(t, []string{secret})
	c := pgconnTo(t, adminDSN)
	res, err := c.Exec(context.Background(), a.sql("SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'P_cust'::regclass")).ReadAll()
	if err != nil || len(res) != 1 || len(res[0].Rows) != 1 {
		t.Fatalf("finding the TOAST table: %v", err)
	}
	toast := string(res[0].Rows[0][0])

	cases := []advCase{
		{name: "rename a masked column", sql: "UPDATE pg_attribute SET attname = 'P_x' WHERE attrelid = 'P_cust'::regclass AND attname = 'ssn'", deny: true},
		{name: "row-level security off", sql: "UPDATE pg_catalog.pg_class SET relrowsecurity = false WHERE oid = 'P_cust'::regclass", deny: true},
		{name: "drop a trigger's row", sql: "DELETE FROM pg_trigger WHERE tgrelid = 'P_cust'::regclass", deny: true},
		{name: "lock the catalog", sql: "LOCK TABLE pg_catalog.pg_class IN ACCESS SHARE MODE", deny: true},
		{name: "toast chunks", sql: "SELECT convert_from(chunk_data, 'UTF8') FROM " + toast + " ORDER BY chunk_seq", deny: true},
		{name: "toast bytes", sql: "SELECT chunk_data FROM " + toast, deny: true},
		{name: "toast count", sql: "SELECT count(*) FROM " + toast, deny: true},
		{name: "masked read", sql: "SELECT ssn FROM P_cust WHERE id = 9001", allow: true},
		{name: "catalog read", sql: "SELECT attname FROM pg_attribute WHERE attrelid = 'P_cust'::regclass AND attnum > 0 ORDER BY attnum", allow: true},
	}
	runAdvCases(t, a, "sys24", cases)

	// The column kept its name.
	res, err = c.Exec(context.Background(), a.sql("SELECT count(*)::text FROM pg_attribute WHERE attrelid = 'P_cust'::regclass AND attname = 'ssn'")).ReadAll()
	if err != nil || len(res) != 1 || len(res[0].Rows) != 1 || string(res[0].Rows[0][0]) != "1" {
		t.Errorf("P_cust.ssn was renamed: %v %v", err, res)
	}
}
