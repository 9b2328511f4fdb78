package pgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// bareName is a reported function name without a pg_catalog qualifier;
// other qualified names are returned as they are (they are never built-in).
func bareName(name string) string {
	return strings.TrimPrefix(name, "pg_catalog.")
}

// classifyFunction returns how a called function is reported (as written:
// schema-qualified when the statement qualified it) and whether it is in the
// built-in safe set: pg_catalog functions without side effects that read
// nothing but their arguments (or harmless session and catalog facts).
func classifyFunction(nameParts []*pg_query.Node) (string, bool) {
	name := qualifiedName(nameParts)
	bare, schema := name, ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 && len(nameParts) > 1 {
		schema, bare = name[:i], name[i+1:]
	}
	if schema == "information_schema" {
		return name, infoSchemaHelpers[bare]
	}
	if schema != "" && schema != "pg_catalog" {
		return name, false
	}
	return name, safeFunctions[bare]
}

// infoSchemaHelpers are the SQL functions PostgreSQL itself defines in
// information_schema (owned by the bootstrap superuser): pure expressions
// over their arguments and catalog facts, which drivers call for metadata
// (pgjdbc's getPrimaryKeys and getIndexInfo use _pg_expandarray). They
// must be written schema-qualified, as information_schema is not on the
// pinned search path.
var infoSchemaHelpers = map[string]bool{
	"_pg_expandarray": true, "_pg_index_position": true, "_pg_keysequal": true,
	"_pg_truetypid": true, "_pg_truetypmod": true, "_pg_char_max_length": true,
	"_pg_char_octet_length": true, "_pg_numeric_precision": true, "_pg_numeric_precision_radix": true,
	"_pg_numeric_scale": true, "_pg_datetime_precision": true, "_pg_interval_type": true,
}

// safeFunctions is the built-in safe set. Deliberately absent (so a grant
// must name them): anything that writes, locks, sleeps, signals, reads files
// or large objects, connects elsewhere, changes settings, advances
// sequences, or runs SQL given as a string (query_to_xml, table_to_xml,
// ts_stat, ts_rewrite, ...).
var safeFunctions = func() map[string]bool {
	m := map[string]bool{}
	for _, group := range []string{
		// aggregates
		`count sum avg min max array_agg string_agg bool_and bool_or every bit_and bit_or bit_xor
		json_agg jsonb_agg json_object_agg jsonb_object_agg json_agg_strict jsonb_agg_strict
		json_object_agg_strict jsonb_object_agg_strict json_object_agg_unique jsonb_object_agg_unique
		stddev stddev_pop stddev_samp variance var_pop var_samp corr covar_pop covar_samp
		regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy
		percentile_cont percentile_disc mode any_value range_agg range_intersect_agg xmlagg`,
		// window functions
		`row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value`,
		// strings
		`lower upper initcap length char_length character_length octet_length bit_length substr substring
		trim btrim ltrim rtrim lpad rpad replace reverse left right repeat split_part strpos position
		concat concat_ws format md5 sha224 sha256 sha384 sha512 encode decode to_hex to_bin to_oct ascii chr
		quote_ident quote_literal quote_nullable regexp_replace regexp_match regexp_matches
		regexp_split_to_array regexp_split_to_table regexp_count regexp_instr regexp_like regexp_substr
		translate starts_with string_to_array array_to_string string_to_table overlay normalize is_normalized
		unistr convert convert_from convert_to textlen similar_to_escape similar_escape casefold
		crc32 crc32c get_bit get_byte set_bit set_byte bit_count text varchar bpchar char name`,
		// numbers
		`abs ceil ceiling floor round trunc sign sqrt cbrt exp ln log log10 power pow mod div pi degrees
		radians sin cos tan cot asin acos atan atan2 sind cosd tand cotd asind acosd atand atan2d
		sinh cosh tanh asinh acosh atanh width_bucket gcd lcm factorial scale trim_scale min_scale
		numeric int2 int4 int8 float4 float8 random random_normal erf erfc`,
		// dates and times
		`now clock_timestamp statement_timestamp transaction_timestamp timeofday date_part date_trunc
		date_bin extract age make_date make_time make_timestamp make_timestamptz make_interval to_char
		to_date to_timestamp to_number justify_days justify_hours justify_interval isfinite timezone
		overlaps date_add date_subtract date time timestamp timestamptz interval`,
		// json
		`to_json to_jsonb array_to_json row_to_json json_build_array json_build_object jsonb_build_array
		jsonb_build_object json_object jsonb_object json_array_length jsonb_array_length json_each
		jsonb_each json_each_text jsonb_each_text json_extract_path json_extract_path_text
		jsonb_extract_path jsonb_extract_path_text json_object_keys jsonb_object_keys json_populate_record
		jsonb_populate_record json_populate_recordset jsonb_populate_recordset json_to_record
		jsonb_to_record json_to_recordset jsonb_to_recordset json_array_elements jsonb_array_elements
		json_array_elements_text jsonb_array_elements_text json_typeof jsonb_typeof json_strip_nulls
		jsonb_strip_nulls jsonb_set jsonb_set_lax jsonb_insert jsonb_pretty jsonb_path_query
		jsonb_path_exists jsonb_path_match jsonb_path_query_array jsonb_path_query_first
		jsonb_path_query_tz jsonb_path_exists_tz jsonb_path_match_tz jsonb_path_query_array_tz
		jsonb_path_query_first_tz json_scalar json_serialize jsonb_contains jsonb_exists
		jsonb_exists_any jsonb_exists_all jsonb_concat jsonb_delete jsonb_delete_path`,
		// arrays and sets
		`array_length array_dims array_lower array_upper array_ndims cardinality array_append
		array_prepend array_cat array_position array_positions array_remove array_replace array_fill
		array_sample array_shuffle array_reverse array_sort trim_array unnest generate_series
		generate_subscripts`,
		// conditionals and types
		`num_nulls num_nonnulls pg_typeof format_type bool to_regclass to_regtype to_regproc
		to_regprocedure to_regnamespace to_regrole to_regoper to_regoperator to_regcollation
		pg_input_is_valid pg_input_error_info`,
		// session and catalog facts
		`current_schema current_schemas current_database current_user session_user user system_user
		current_setting version pg_backend_pid pg_postmaster_start_time pg_conf_load_time
		pg_is_in_recovery pg_encoding_to_char pg_char_to_encoding pg_client_encoding pg_jit_available
		inet_client_addr inet_client_port inet_server_addr inet_server_port pg_my_temp_schema
		pg_is_other_temp_schema pg_get_keywords pg_get_viewdef pg_get_constraintdef pg_get_indexdef
		pg_get_expr pg_get_userbyid pg_get_functiondef pg_get_function_arguments
		pg_get_function_identity_arguments pg_get_function_result pg_get_triggerdef pg_get_ruledef
		pg_get_serial_sequence pg_get_statisticsobjdef pg_get_statisticsobjdef_columns
		pg_get_statisticsobjdef_expressions pg_relation_is_publishable pg_get_partkeydef pg_get_partition_constraintdef
		pg_table_is_visible pg_type_is_visible pg_function_is_visible pg_collation_for
		obj_description col_description shobj_description has_table_privilege has_column_privilege
		has_any_column_privilege has_schema_privilege has_database_privilege has_function_privilege
		has_sequence_privilege has_type_privilege has_language_privilege pg_has_role row_security_active
		pg_size_pretty pg_size_bytes pg_relation_size pg_total_relation_size pg_table_size
		pg_indexes_size pg_database_size pg_column_size pg_relation_filenode pg_relation_filepath
		pg_tablespace_location txid_current_snapshot pg_current_snapshot pg_snapshot_xmin
		pg_snapshot_xmax pg_snapshot_xip pg_visible_in_snapshot pg_trigger_depth`,
		// network, uuid, text search, geometry, ranges, xml
		`host hostmask masklen netmask network broadcast abbrev family inet_same_family inet_merge
		set_masklen gen_random_uuid uuidv4 uuidv7 uuid_extract_version uuid_extract_timestamp
		to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery ts_rank ts_rank_cd
		ts_headline setweight strip numnode querytree tsvector_to_array array_to_tsvector ts_delete
		ts_filter ts_lexize get_current_ts_config
		lower_inc upper_inc lower_inf upper_inf isempty range_merge int4range int8range numrange
		tsrange tstzrange daterange multirange
		area center diameter height width radius npoints isclosed isopen box circle point line lseg
		path polygon xpath xpath_exists xml_is_well_formed xml_is_well_formed_document
		xml_is_well_formed_content xmlexists xmlcomment xmltext`,
	} {
		for _, f := range strings.Fields(group) {
			m[f] = true
		}
	}
	return m
}()

// setReturning are the set-returning functions of the safe set.
var setReturning = setOf(`generate_series generate_subscripts unnest regexp_matches
	regexp_split_to_table string_to_table json_each json_each_text jsonb_each jsonb_each_text
	json_object_keys jsonb_object_keys json_array_elements json_array_elements_text
	jsonb_array_elements jsonb_array_elements_text json_populate_recordset
	jsonb_populate_recordset json_to_recordset jsonb_to_recordset jsonb_path_query
	jsonb_path_query_tz pg_get_keywords pg_snapshot_xip information_schema._pg_expandarray`)

// rowFunctions are the built-in functions that take one argument of any
// type, so that PostgreSQL accepts them in field notation on a row: q.f is
// f(q) when q has no column f (SELECT c.to_json FROM customers c returns
// every column of the row). A reference q.f with one of these names
// carries the whole row of q.
var rowFunctions = setOf(`to_json to_jsonb row_to_json json_build_array jsonb_build_array
	json_build_object jsonb_build_object concat quote_literal quote_nullable num_nulls
	num_nonnulls pg_column_size pg_column_compression pg_collation_for pg_typeof record_out
	record_send hash_record any_out anyelement_out anynonarray_out anycompatible_out hstore`)

// largeObjectWrites are the large-object functions that change
// pg_largeobject, with the class each needs on it: PostgreSQL runs them
// even in a read-only transaction, so the read-only wall upstream does not
// stop them and a grant naming the function is not enough.
var largeObjectWrites = map[string]string{
	"lo_create": "insert", "lo_creat": "insert", "lo_import": "insert", "lo_from_bytea": "insert",
	"lowrite": "update", "lo_put": "update", "lo_truncate": "update", "lo_truncate64": "update",
	"lo_open": "update", "lo_unlink": "delete", "be_lo_unlink": "delete",
}

// sessionEffects are the functions outside the safe set whose effects
// PostgreSQL lets through a read-only transaction, and that act on other
// sessions or on the server: notifications (the side channel NOTIFY opens,
// which the gateway forbids), advisory locks (others wait on them, as on
// LOCK t, which needs update), backend signals, configuration reloads, log
// and WAL switches, statistics resets, replication slots and origins,
// recovery control, server files written (lo_export, adminpack's
// pg_file_*), catalog and index writes (pg_import_system_collations, BRIN
// summaries, GIN pending lists), and transaction ids and OIDs assigned.
// A call needs the class update on "" (a grant that may write something)
// besides a grant naming the function: a read-only grant naming one still
// cannot run it.
var sessionEffects = setOf(`pg_notify
	pg_advisory_lock pg_advisory_lock_shared pg_try_advisory_lock pg_try_advisory_lock_shared
	pg_advisory_xact_lock pg_advisory_xact_lock_shared pg_try_advisory_xact_lock
	pg_try_advisory_xact_lock_shared pg_advisory_unlock pg_advisory_unlock_shared pg_advisory_unlock_all
	pg_terminate_backend pg_cancel_backend pg_reload_conf pg_rotate_logfile pg_switch_wal
	pg_create_restore_point pg_promote pg_log_backend_memory_contexts pg_stat_reset
	pg_stat_reset_shared pg_stat_reset_single_table_counters pg_stat_reset_single_function_counters
	pg_stat_reset_slru pg_stat_reset_replication_slot pg_stat_reset_subscription_stats
	pg_create_physical_replication_slot pg_create_logical_replication_slot pg_drop_replication_slot
	pg_copy_physical_replication_slot pg_copy_logical_replication_slot pg_replication_slot_advance
	pg_logical_emit_message pg_replication_origin_create pg_replication_origin_drop
	pg_replication_origin_advance pg_replication_origin_session_setup
	pg_replication_origin_session_reset pg_replication_origin_xact_setup
	pg_replication_origin_xact_reset pg_wal_replay_pause pg_wal_replay_resume pg_backup_start
	pg_backup_stop pg_start_backup pg_stop_backup
	lo_export pg_file_write pg_file_rename pg_file_unlink pg_file_sync
	pg_import_system_collations brin_summarize_new_values brin_summarize_range
	brin_desummarize_range gin_clean_pending_list txid_current pg_current_xact_id pg_nextoid`)

// serverFileWrites are the functions that write, rename or remove files
// on the database server as its operating system user (lo_export,
// adminpack's pg_file_*): forbidden for every grant, as COPY to a server
// file is. They stay in sessionEffects for ReadOnlyEffect.
var serverFileWrites = setOf(`lo_export pg_file_write pg_file_rename pg_file_unlink pg_file_sync`)

// remoteSessions are dblink's functions that run SQL in a session of their
// own, which the read-only transaction upstream does not reach. The
// extension installs them in any schema: they match by their last name.
var remoteSessions = setOf(`dblink dblink_exec dblink_open dblink_fetch dblink_close dblink_connect
	dblink_connect_u dblink_send_query dblink_get_result`)

// ReadOnlyEffect reports a function (as a statement or a view's
// definition names it) whose effect PostgreSQL lets through a read-only
// transaction: the session effects, large-object writes, dblink's
// sessions and set_config.
func ReadOnlyEffect(name string) bool {
	bare := bareName(name)
	_, lo := largeObjectWrites[bare]
	return sessionEffects[bare] || lo || bare == "set_config" || remoteSessions[lastName(name)]
}

// lastName is the last part of a possibly qualified function name.
func lastName(name string) string {
	return name[strings.LastIndexByte(name, '.')+1:]
}

// catalogReaders are the functions of the safe set that show what a
// system catalog holds about an object named by its argument (a view's
// query, a function's source, a comment, a relation's size on disk), with
// the catalog each reads: a call needs select on it, as reading the
// catalog itself would, so a grant that covers no catalog shows none of
// them for any object.
var catalogReaders = map[string]string{
	"pg_get_viewdef": "pg_catalog.pg_rewrite", "pg_get_ruledef": "pg_catalog.pg_rewrite",
	"pg_get_functiondef": "pg_catalog.pg_proc", "pg_get_function_arguments": "pg_catalog.pg_proc",
	"pg_get_function_identity_arguments": "pg_catalog.pg_proc", "pg_get_function_result": "pg_catalog.pg_proc",
	"pg_get_triggerdef": "pg_catalog.pg_trigger", "pg_get_indexdef": "pg_catalog.pg_index",
	"pg_get_constraintdef": "pg_catalog.pg_constraint", "pg_get_partkeydef": "pg_catalog.pg_partitioned_table",
	"pg_get_partition_constraintdef": "pg_catalog.pg_class", "pg_get_serial_sequence": "pg_catalog.pg_depend",
	"pg_get_statisticsobjdef": "pg_catalog.pg_statistic_ext", "pg_get_statisticsobjdef_columns": "pg_catalog.pg_statistic_ext",
	"pg_get_statisticsobjdef_expressions": "pg_catalog.pg_statistic_ext",
	"obj_description":                     "pg_catalog.pg_description", "col_description": "pg_catalog.pg_description",
	"shobj_description": "pg_catalog.pg_shdescription", "pg_get_userbyid": "pg_catalog.pg_roles",
	"pg_relation_size": "pg_catalog.pg_class", "pg_total_relation_size": "pg_catalog.pg_class",
	"pg_table_size": "pg_catalog.pg_class", "pg_indexes_size": "pg_catalog.pg_class",
	"pg_relation_filenode": "pg_catalog.pg_class", "pg_relation_filepath": "pg_catalog.pg_class",
	"pg_database_size": "pg_catalog.pg_database", "pg_tablespace_location": "pg_catalog.pg_tablespace",
}

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// sideEffects classifies calls whose effects a function grant must not be
// enough for: large-object writes need a write class on
// pg_catalog.pg_largeobject, set_config obeys the rules of SET, and the
// catalog readers of the safe set need select on their catalog.
func (a *analyzer) sideEffects(name string, args []*pg_query.Node) {
	bare := bareName(name) // app.lo_create stays qualified and matches nothing
	if class, ok := largeObjectWrites[bare]; ok {
		a.access(class, "pg_catalog.pg_largeobject")
	}
	if sessionEffects[bare] || remoteSessions[lastName(name)] {
		a.access("update", "")
	}
	if serverFileWrites[bare] {
		a.forbid(bare + " writes a file on the database server's filesystem, as COPY to a server file does")
	}
	if catalog, ok := catalogReaders[bare]; ok {
		a.access("select", catalog)
	}
	if bare == "set_config" {
		a.literal = true // the decision reads the literals: never cached by shape
		var setting string
		if len(args) > 0 {
			if c := args[0].GetAConst(); c != nil {
				if v, ok := c.Val.(*pg_query.A_Const_Sval); ok {
					setting = v.Sval.GetSval()
				}
			}
		}
		if setting == "" {
			a.forbid("set_config with a setting name that is not a string literal")
			return
		}
		var value []*pg_query.Node
		if len(args) > 1 {
			value = args[1:2]
		}
		if reason := setConfigRefused(setting, value); reason != "" {
			a.forbid(reason)
		}
	}
}
