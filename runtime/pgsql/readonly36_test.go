package pgsql

import (
	"slices"
	"testing"

	"github.com/mandatehq/mandate/model"
)

// TestTimeZoneSettings: TimeZone values far from UTC crash PostgreSQL 15
// (timezone.go), so SET and set_config refuse them; ordinary zones stay
// allowed. (runtime/pgproxy's TestAdversarialRound36TimeZone sends them
// through the gateway.)
func TestTimeZoneSettings(t *testing.T) {
	refused := []string{
		"SET TimeZone = 'XXX167:59'", "SET TimeZone TO 'XXX24:01'", "SET TimeZone = 'XXX+30'",
		"SET TimeZone = 'XXX5YYY167'", "SET TimeZone = '<-167>+167'", "SET TimeZone = 'XXX-167:59'",
		"SET TIME ZONE -167", "SET TIME ZONE -24.5", "SET TIME ZONE 24", "SET TimeZone = '-167'",
		"SET TimeZone = '-2.45e1'", "SET TimeZone = '-0x18.8'", "SET TimeZone = 'inf'", "SET TimeZone = 'NaN'",
		"SET TimeZone = ' -30'", "SET TimeZone = 'XXX30<'", "SET TIME ZONE INTERVAL '-167:59' HOUR TO MINUTE",
		"SET TIME ZONE INTERVAL '-100 hours'", "SET TIME ZONE INTERVAL '1e2' HOUR", "SET LOCAL TimeZone = 'XXX100'",
		`SET "timezone" = 'XXX167'`, "SELECT set_config('TimeZone', 'XXX167:59', false)",
		"SELECT set_config('timezone', $1, false)", "SELECT set_config('TimeZone', current_setting('x'), false)",
	}
	allowed := []string{
		"SET TimeZone = 'America/Argentina/Buenos_Aires'", "SET TimeZone = 'Etc/GMT+12'", "SET TIME ZONE 'UTC'",
		"SET TimeZone = UTC", "SET TimeZone = 'EST5EDT,M3.2.0/2,M11.1.0'", "SET TimeZone = 'XXX23:59'",
		"SET TimeZone = '<+0330>-3:30'", "SET TIME ZONE -7", "SET TIME ZONE 5.5", "SET TimeZone = '-23.5'",
		"SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE", "SET TIME ZONE LOCAL", "SET TimeZone TO DEFAULT",
		"RESET TimeZone", "SET TimeZone FROM CURRENT", "SELECT set_config('TimeZone', 'Europe/Berlin', false)",
	}
	checkForbidden(t, forbiddenCases(refused, allowed, "TimeZone"))
	for v, ok := range map[string]bool{"XXX167:59": false, "<-48>+48": false, "-100": false, "": false,
		"Europe/Berlin": true, "UTC": true, "-7": true, "EST5EDT": true} {
		if got := TimeZoneRefused(v) == ""; got != ok {
			t.Errorf("TimeZoneRefused(%q) allows: %v, want %v", v, got, ok)
		}
	}
}

// TestReadOnlyEffects: the functions whose effect PostgreSQL lets through
// a read-only transaction need the class update even when a grant names
// them (a server file written, collations created, index pages changed,
// transaction ids and OIDs assigned, SQL run in a session of dblink's).
func TestReadOnlyEffects(t *testing.T) {
	for _, sql := range []string{
		"SELECT lo_export(1, '/tmp/x')", "SELECT pg_catalog.lo_export(1, '/tmp/x')",
		"SELECT pg_import_system_collations('public')", "SELECT brin_summarize_new_values('i')",
		"SELECT brin_summarize_range('i', 0)", "SELECT brin_desummarize_range('i', 0)",
		"SELECT gin_clean_pending_list('i')", "SELECT txid_current()", "SELECT pg_current_xact_id()",
		"SELECT pg_nextoid('pg_class', 'oid', 'pg_class_oid_index')", "SELECT pg_file_write('/tmp/x', 'x', false)",
		"SELECT dblink_exec('dbname=test', 'DELETE FROM t')", "SELECT * FROM public.dblink('x', 'y') AS t(a int)",
		"SELECT ext.dblink_open('c', 'SELECT 1')",
	} {
		res, err := Analyze(sql, Options{})
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if !slices.Contains(res[0].Statement.Accesses, model.Access{Class: "update", Table: ""}) {
			t.Errorf("%s: accesses %v, want update on the database", sql, res[0].Statement.Accesses)
		}
		for _, f := range res[0].Statement.Functions {
			if !ReadOnlyEffect(f) {
				t.Errorf("%s: ReadOnlyEffect(%q) is false", sql, f)
			}
		}
	}
	for _, f := range []string{"pg_try_advisory_lock", "pg_catalog.pg_notify", "lo_create", "set_config", "pg_terminate_backend"} {
		if !ReadOnlyEffect(f) {
			t.Errorf("ReadOnlyEffect(%q) is false", f)
		}
	}
	for _, f := range []string{"nextval", "app.lo_export", "lower", "app.f", "txid_current_if_assigned"} {
		if ReadOnlyEffect(f) {
			t.Errorf("ReadOnlyEffect(%q) is true", f)
		}
	}
}

// TestServerFileWrites: writing a server file is forbidden for every
// grant, as COPY to a server file is; a function of the same name in
// another schema is the administrator's own.
func TestServerFileWrites(t *testing.T) {
	for _, tc := range []struct {
		sql       string
		forbidden bool
	}{
		{"SELECT lo_export(1, '/tmp/x')", true},
		{"SELECT pg_catalog.lo_export(1, '/tmp/x')", true},
		{"SELECT pg_file_write('/tmp/x', 'x', false)", true},
		{"SELECT pg_file_rename('/tmp/x', '/tmp/y')", true},
		{"SELECT pg_file_unlink('/tmp/x')", true},
		{"SELECT app.lo_export(1, '/tmp/x')", false},
		{"SELECT lo_get(1)", false},
	} {
		res, err := Analyze(tc.sql, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		got := res[0].Statement.Forbidden != ""
		if got != tc.forbidden {
			t.Errorf("%s: forbidden %v (%q), want %v", tc.sql, got, res[0].Statement.Forbidden, tc.forbidden)
		}
	}
}
