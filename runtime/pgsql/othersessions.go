package pgsql

// What other sessions leave in the server.
//
// Every agent's session reaches PostgreSQL as the same upstream role,
// often a superuser, to which the server shows what every other session
// does. Most of it is harmless to show (which sessions exist, their
// state, application_name, client address, the locks they hold, their
// progress), and psql, GUI tools and monitoring read it. One thing is
// not: the text of the statement each session runs or ran last, which
// PostgreSQL keeps verbatim, literal values included: another agent's
// SELECT ... WHERE ssn = '...' (a value its masking hides from the
// reader), an application's INSERT ... VALUES ('<secret>'), an
// administrator's ALTER ROLE ... PASSWORD '<password>'. The session that
// ran it may sit idle for hours with that text on show. Masking cannot
// make it safe: the text is free-form, no rule names what it holds, and a
// filter on it is an oracle for any part of it. So, as the credentials of
// credentials.go, it is refused for every grant, a grant naming the view
// or the function included:
//
//   - pg_stat_activity.query (and a star or whole row of
//     pg_stat_activity, which includes it);
//   - pg_stat_get_activity(...), the function behind pg_stat_activity
//     (and pg_stat_ssl, pg_stat_gssapi, pg_stat_replication, which stay
//     readable: they do not show the text), and
//     pg_stat_get_backend_activity(...): any call, since a function's
//     columns have no lineage;
//   - the query column of the pg_stat_statements extension's view, and
//     its function pg_stat_statements(...), in whatever schema the
//     extension was created: PostgreSQL 15 keeps utility statements
//     (ALTER ROLE ... PASSWORD) there verbatim.
//
// The session's own prepared statements and cursors (pg_prepared_statements,
// pg_cursors) show its own statements only, and stay with their grant.

// sessionTextRefusal is the denial of reading statement text.
func sessionTextRefusal(reason string) string {
	return reason + ": no grant reads the statements of other sessions through the gateway"
}

const sessionTextReason = "holds the text of the statement every session of the server runs or ran last " +
	"(other agents' included), literal values and passwords included"

func init() {
	refuseColumns(credentialColumns, "pg_catalog.pg_stat_activity", "pg_catalog.pg_stat_activity", "query",
		sessionTextReason, sessionTextRefusal)
	refuseColumns(anySchemaColumns, ".pg_stat_statements", "pg_stat_statements", "query",
		"(the pg_stat_statements extension's view, in any schema) "+sessionTextReason, sessionTextRefusal)
	for _, fn := range []string{"pg_stat_get_activity", "pg_stat_get_backend_activity"} {
		credentialFunctions[fn] = sessionTextRefusal(fn + " returns the text of the statement every session of the server runs or ran last " +
			"(other agents' included), literal values and passwords included; read the other columns of pg_stat_activity")
	}
	anySchemaFunctions["pg_stat_statements"] = sessionTextRefusal("pg_stat_statements (the extension's function, in any schema) " +
		"returns the text of the statements of every session (other agents' included), literal values and passwords included")
}
