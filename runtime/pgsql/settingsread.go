package pgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/mandatehq/mandate/model"
)

// Reading server settings back.
//
// The gateway's upstream role is often a superuser, to which PostgreSQL
// shows every setting: server file paths (data_directory, hba_file),
// commands and connection strings that hold passwords (archive_command,
// primary_conninfo, ssl_passphrase_command), library paths, and the
// custom settings an administrator stored with ALTER DATABASE/ROLE ... SET
// (app.jwt_secret, the PostgREST pattern). A role without privileges sees
// none of the superuser-only ones. The gateway mirrors that: reading a
// protected setting (SHOW, current_setting), every setting at once (SHOW
// ALL, pg_show_all_settings()), the configuration files
// (pg_file_settings, pg_hba_file_rules, pg_ident_file_mappings, pg_config)
// or the stored per-database and per-role settings (pg_db_role_setting,
// pg_roles.rolconfig, pg_user.useconfig, pg_shadow.useconfig) needs select
// on pg_catalog.pg_settings, the view that shows them all. Ordinary
// settings (server_version, TimeZone, search_path, ...) stay readable
// without any grant.

// settingsCatalog is the relation whose select opens the server's
// configuration.
const settingsCatalog = "pg_catalog.pg_settings"

// superuserOnlySettings are PostgreSQL 15's settings flagged
// GUC_SUPERUSER_ONLY, readable only by superusers and members of
// pg_read_all_settings. Derived on PostgreSQL 15.20 (Debian) as the names
// pg_settings shows a superuser but not a role without privileges (SET
// ROLE pg_checkpoint; SELECT name FROM pg_settings, compared with the
// same as postgres). extension_destdir is a Debian patch's.
var superuserOnlySettings = setOf(`config_file data_directory dynamic_library_path
	extension_destdir external_pid_file hba_file ident_file jit_provider krb_server_keyfile
	log_directory log_filename output_plugin_libraries primary_conninfo
	session_preload_libraries shared_preload_libraries ssl_ciphers ssl_dh_params_file
	ssl_ecdh_curve ssl_max_protocol_version ssl_min_protocol_version ssl_passphrase_command
	unix_socket_directories`)

// sensitiveSettings are readable by any role in PostgreSQL 15 but name
// shell commands (which often carry credentials: an object store's keys in
// archive_command), key and certificate files, or libraries the server
// loads: the gateway protects them as the superuser-only ones.
var sensitiveSettings = setOf(`archive_command archive_cleanup_command archive_library
	recovery_end_command restore_command local_preload_libraries ssl_cert_file ssl_key_file
	ssl_ca_file ssl_crl_file ssl_crl_dir`)

// sensitiveSuffixes catch, by name, settings of later PostgreSQL versions
// or forks that hold paths, commands, connection strings or libraries
// (oauth_validator_libraries, extension_control_path): every name on the
// two lists above matches one of them or sensitivePrefixes. search_path
// is the one ordinary setting that does.
var sensitiveSuffixes = []string{"_command", "_conninfo", "_libraries", "_directory",
	"_directories", "_file", "_filename", "_keyfile", "_destdir", "_path", "_provider", "_dir", "_library"}

var sensitivePrefixes = []string{"ssl_", "krb_"}

// protectedSetting reports a setting that needs select on pg_settings to
// read: a custom setting (a name with a dot, where administrators keep
// secrets), a superuser-only or sensitive one. Names are case-insensitive,
// as PostgreSQL's.
func protectedSetting(name string) bool {
	name = strings.ToLower(name)
	switch {
	case strings.Contains(name, "."), superuserOnlySettings[name], sensitiveSettings[name]:
		return true
	case name == "search_path":
		return false
	}
	for _, s := range sensitiveSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	for _, p := range sensitivePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// settingsFunctions are the pg_catalog functions that read settings or
// server configuration files. current_setting is in the safe set and is
// decided by its argument; the others need select on pg_settings whatever
// function grant names them.
var settingsFunctions = setOf(`current_setting pg_show_all_settings pg_show_all_file_settings
	pg_hba_file_rules pg_ident_file_mappings pg_config pg_current_logfile`)

// settingsRelations are the catalogs that show configuration files or the
// settings stored for databases and roles: reading them needs select on
// pg_settings besides their own grant.
var settingsRelations = setOf(`pg_catalog.pg_file_settings pg_catalog.pg_hba_file_rules
	pg_catalog.pg_ident_file_mappings pg_catalog.pg_db_role_setting pg_catalog.pg_config`)

// settingsColumns are the columns of catalog views that show the settings
// stored for roles (ALTER ROLE ... SET); their whole rows (view.*) show
// them too.
var settingsColumns = setOf(`pg_catalog.pg_roles.rolconfig pg_catalog.pg_roles.*
	pg_catalog.pg_user.useconfig pg_catalog.pg_user.* pg_catalog.pg_shadow.useconfig
	pg_catalog.pg_shadow.*`)

// settingsGate is the access that opens the server's configuration.
var settingsGate = model.Access{Class: "select", Table: settingsCatalog}

// readSettings records the select on pg_settings a read of protected
// configuration needs: a grant to hold, not a read of the view (a view
// whose query reads configuration does not read pg_settings, see
// ViewFromDefinition).
func (a *analyzer) readSettings() {
	a.settingsGated = true
	a.accesses[settingsGate] = true
}

// showStmt: SHOW of an ordinary setting is always allowed; SHOW ALL and
// SHOW of a protected setting need select on pg_settings.
func (a *analyzer) showStmt(s *pg_query.VariableShowStmt) string {
	if name := strings.ToLower(s.Name); name == "all" || protectedSetting(name) {
		a.readSettings()
		return "SHOW"
	}
	a.always = true
	return "SHOW"
}

// settingsCalls walks the whole statement (before classify, so that the
// analysis of a PREPAREd statement has them too) for calls of the settings
// functions: current_setting with a string literal naming a protected
// setting, or with any other argument, and every call of the others, need
// select on pg_settings. Field notation is a call: (x).current_setting is
// current_setting(x), a name that is no literal; a column of that name
// counts too (over-approximate, fail closed).
func (a *analyzer) settingsCalls(n *pg_query.Node) {
	if n == nil || n.Node == nil {
		return
	}
	a.settingsCallsIn(n.ProtoReflect(), 0)
}

func (a *analyzer) settingsCallsIn(m protoreflect.Message, depth int) {
	if depth > maxSyntaxDepth {
		a.forbid("statement nests too deeply to analyze")
		return
	}
	switch x := m.Interface().(type) {
	case *pg_query.FuncCall:
		a.settingsCall(x)
	case *pg_query.ColumnRef:
		if parts := refParts(x); len(parts) >= 2 && settingsFunctions[parts[len(parts)-1]] {
			a.readSettings()
		}
	case *pg_query.A_Indirection:
		if k := len(x.Indirection); k > 0 {
			if s := x.Indirection[k-1].GetString_(); s != nil && settingsFunctions[s.Sval] {
				a.readSettings()
			}
		}
	}
	children(m, func(c protoreflect.Message) bool {
		a.settingsCallsIn(c, depth+1)
		return true
	})
}

// settingsCall decides one call: only an unqualified or pg_catalog call
// reaches the built-in (any other is user code, which needs a grant naming
// it anyway).
func (a *analyzer) settingsCall(f *pg_query.FuncCall) {
	name := qualifiedName(f.Funcname)
	if len(f.Funcname) > 1 && !strings.HasPrefix(name, "pg_catalog.") {
		return
	}
	bare := bareName(name)
	if !settingsFunctions[bare] {
		return
	}
	if bare != "current_setting" {
		a.readSettings()
		return
	}
	a.literal = true // the decision reads the literal: never cached by shape
	if len(f.Args) == 0 {
		a.readSettings()
		return
	}
	c := f.Args[0].GetAConst()
	if c == nil {
		a.readSettings()
		return
	}
	v, ok := c.Val.(*pg_query.A_Const_Sval)
	if !ok || protectedSetting(v.Sval.GetSval()) {
		a.readSettings()
	}
}
