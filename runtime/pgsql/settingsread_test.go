package pgsql

import (
	"slices"
	"testing"
)

var settingsAccess = settingsGate

// TestSettingsReads: reading a protected setting, every setting, the
// configuration files or the settings stored for databases and roles
// needs select on pg_catalog.pg_settings (round 22); ordinary settings
// stay always allowed.
func TestSettingsReads(t *testing.T) {
	cases := []struct {
		sql   string
		needs bool // select on pg_catalog.pg_settings
	}{
		// SHOW.
		{"SHOW data_directory", true},
		{"SHOW Data_Directory", true},
		{`SHOW "hba_file"`, true},
		{"SHOW ALL", true},
		{"SHOW app.jwt_secret", true},
		{"SHOW primary_conninfo", true},
		{"SHOW archive_command", true},
		{"SHOW restore_command", true},
		{"SHOW ssl_passphrase_command", true},
		{"SHOW ssl_key_file", true},
		{"SHOW shared_preload_libraries", true},
		{"SHOW dynamic_library_path", true},
		{"SHOW krb_server_keyfile", true},
		{"SHOW unix_socket_directories", true},
		{"SHOW oauth_validator_libraries", true}, // a later version's, by its suffix
		{"SHOW server_version", false},
		{"SHOW search_path", false},
		{"SHOW TIME ZONE", false},
		{"SHOW TRANSACTION ISOLATION LEVEL", false},
		{"SHOW SESSION AUTHORIZATION", false},
		{"SHOW standard_conforming_strings", false},
		{"SHOW lc_collate", false},
		{"SHOW max_identifier_length", false},
		// current_setting.
		{"SELECT current_setting('data_directory')", true},
		{"SELECT pg_catalog.current_setting('HBA_FILE')", true},
		{"SELECT current_setting('app.jwt_secret', true)", true},
		{"SELECT current_setting(E'data\\x5fdirectory')", true},
		{"SELECT current_setting(U&'data\\005fdirectory')", true},
		{"SELECT current_setting('data_' || 'directory')", true},
		{"SELECT current_setting('data_directory'::text)", true},
		{"SELECT current_setting($1)", true},
		{"SELECT current_setting(name) FROM t", true},
		{"SELECT current_setting(setting_name => 'server_version')", true},
		{"SELECT (x).current_setting FROM (SELECT 'data_directory'::text AS x) s", true},
		{"SELECT s.x.current_setting FROM (SELECT 'data_directory'::text AS x) s", true},
		{"SELECT * FROM current_setting('ssl_key_file')", true},
		{"SELECT count(*) FROM t WHERE current_setting('app.tenant') = 'x'", true},
		{"PREPARE p AS SELECT current_setting('config_file')", true},
		{"DECLARE c CURSOR FOR SELECT current_setting('log_directory')", true},
		{"EXPLAIN SELECT current_setting('primary_conninfo')", true},
		{"COPY (SELECT current_setting('archive_command')) TO STDOUT", true},
		{"SELECT current_setting('server_version_num')", false},
		{"SELECT current_setting('TimeZone'), current_setting('DateStyle'), current_setting('search_path')", false},
		{"SELECT current_setting('transaction_isolation'), current_setting('is_superuser', true)", false},
		{"SELECT app.current_setting('data_directory')", false}, // user code: a grant must name it
		// The other settings functions, whatever grant names them.
		{"SELECT * FROM pg_show_all_settings()", true},
		{"SELECT * FROM pg_catalog.pg_show_all_file_settings()", true},
		{"SELECT * FROM pg_hba_file_rules()", true},
		{"SELECT * FROM pg_config()", true},
		{"SELECT pg_current_logfile()", true},
		// Relations.
		{"SELECT * FROM pg_settings", true},
		{"SELECT * FROM pg_file_settings", true},
		{"TABLE pg_catalog.pg_hba_file_rules", true},
		{"SELECT * FROM pg_ident_file_mappings", true},
		{"SELECT setconfig FROM pg_db_role_setting", true},
		{"COPY pg_db_role_setting TO STDOUT", true},
		{"SELECT * FROM pg_config", true},
		{"SELECT rolconfig FROM pg_roles", true},
		{"SELECT rolname FROM pg_roles WHERE rolconfig IS NOT NULL", true},
		{"SELECT * FROM pg_roles", true},
		{"SELECT row_to_json(r) FROM pg_catalog.pg_roles r", true},
		{"SELECT useconfig FROM pg_user", true},
		{"SELECT rolconfig FROM pg_roles r JOIN pg_database d ON d.datdba = r.oid", true},
		{"SELECT rolname, rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_'", false},
		{"SELECT count(*) FROM pg_roles", false},
		{"SELECT datname FROM pg_database", false},
	}
	for _, tc := range cases {
		res, err := Analyze(tc.sql, Options{SearchPath: []string{"app"}})
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		an := res[0]
		st := an.Statement
		if an.Prepared != nil {
			st = an.Prepared.Statement
		}
		if got := slices.Contains(st.Accesses, settingsAccess); got != tc.needs {
			t.Errorf("%s: needs select on pg_settings = %v, want %v (accesses %v)", tc.sql, got, tc.needs, st.Accesses)
		}
		if st.Forbidden != "" {
			t.Errorf("%s: forbidden (%s)", tc.sql, st.Forbidden)
		}
		if an.Statement.Tag == "SHOW" && an.Statement.Always == tc.needs {
			t.Errorf("%s: Always = %v, want %v", tc.sql, an.Statement.Always, !tc.needs)
		}
	}
}

// TestSettingsReadsCache: the setting a current_setting names decides the
// statement, so texts differing only in it do not share an analysis.
func TestSettingsReadsCache(t *testing.T) {
	z := NewAnalyzer(Options{}, 16)
	for _, tc := range []struct {
		sql   string
		needs bool
	}{
		{"SELECT current_setting('server_version')", false},
		{"SELECT current_setting('data_directory')", true},
		{"SELECT current_setting('TimeZone')", false},
	} {
		res, err := z.Analyze(tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(res[0].Statement.Accesses, settingsAccess); got != tc.needs {
			t.Errorf("%s: needs select on pg_settings = %v, want %v", tc.sql, got, tc.needs)
		}
	}
}

// TestProtectedSettingLists: every name on the lists is caught by the
// name patterns too (so that a later version's settings of the same kinds
// are), and the ordinary settings clients read are not.
func TestProtectedSettingLists(t *testing.T) {
	for _, m := range []map[string]bool{superuserOnlySettings, sensitiveSettings} {
		for name := range m {
			matched := false
			for _, s := range sensitiveSuffixes {
				matched = matched || len(name) > len(s) && name[len(name)-len(s):] == s
			}
			for _, p := range sensitivePrefixes {
				matched = matched || len(name) > len(p) && name[:len(p)] == p
			}
			if !matched {
				t.Errorf("%s matches no pattern of sensitiveSuffixes or sensitivePrefixes", name)
			}
		}
	}
	for _, name := range []string{"server_version", "server_version_num", "server_encoding", "client_encoding",
		"TimeZone", "DateStyle", "IntervalStyle", "search_path", "transaction_isolation", "transaction_read_only",
		"standard_conforming_strings", "lc_collate", "lc_ctype", "lc_messages", "lc_monetary", "lc_numeric",
		"lc_time", "max_identifier_length", "integer_datetimes", "statement_timeout", "application_name",
		"is_superuser", "session_authorization", "default_transaction_read_only", "bytea_output",
		"extra_float_digits", "max_connections", "block_size", "work_mem", "row_security", "role"} {
		if protectedSetting(name) {
			t.Errorf("%s is protected; clients read it", name)
		}
	}
}

// TestSettingsGateInViews: the select on pg_settings that reading
// configuration needs is a grant, not a relation a view reads: pg_roles
// (over pg_db_role_setting) and pg_settings itself (over
// pg_show_all_settings) do not list it, so that a statement reading them
// is not decided as reading pg_settings' code as well (psql's \dt calls
// pg_get_userbyid, which reads pg_roles); a view that names pg_settings
// does.
func TestSettingsGateInViews(t *testing.T) {
	cases := []struct {
		def  string
		cols []string
		want bool // pg_settings among the view's Relations
	}{
		{"SELECT a.rolname, s.setconfig AS rolconfig FROM pg_authid a LEFT JOIN pg_db_role_setting s ON s.setrole = a.oid", []string{"rolname", "rolconfig"}, false},
		{"SELECT a.name, a.setting FROM pg_show_all_settings() a(name, setting)", []string{"name", "setting"}, false},
		{"SELECT current_setting('app.jwt_secret') AS s", []string{"s"}, false},
		{"SELECT name, setting FROM pg_settings", []string{"name", "setting"}, true},
		{"SELECT s.name, current_setting('app.x') AS x FROM pg_catalog.pg_settings s", []string{"name", "x"}, true},
	}
	for _, tc := range cases {
		v, err := ViewFromDefinition(tc.cols, tc.def, Options{SearchPath: []string{"public"}})
		if err != nil {
			t.Fatalf("%s: %v", tc.def, err)
		}
		if got := slices.Contains(v.Relations, settingsCatalog); got != tc.want {
			t.Errorf("%s: pg_settings among Relations %v = %v, want %v", tc.def, v.Relations, got, tc.want)
		}
	}
}
