package pgsql

import "strings"

// Reading credentials from the catalogs.
//
// The gateway's upstream role is often a superuser, to which PostgreSQL
// shows what it hides from every other role: the password verifiers of
// every role (pg_authid.rolpassword, pg_shadow.passwd), the options of
// user mappings, where foreign-data wrappers keep the passwords of other
// servers (pg_user_mapping.umoptions, pg_user_mappings.umoptions and
// information_schema's views over them), the connection strings of
// subscriptions (pg_subscription.subconninfo, passwords included) and the
// contents of every large object (pg_largeobject.data, whatever each
// object's own privileges say). A grant covering pg_catalog.* (what GUI
// tools and drivers that read the catalog need) would read them all, the
// upstream's own password verifier included, and masking cannot make a
// verifier safe (it is an offline guessing target in any form). No agent
// needs them through the gateway: reading one of these columns, or a star
// or whole row of their relations, is forbidden for every grant, a grant
// naming the relation included. The other columns of these catalogs stay
// readable under their grant (pg_authid.rolname, pg_user_mappings.srvname
// and usename: psql's \deu), and so do the views PostgreSQL itself masks
// (pg_roles.rolpassword and pg_user.passwd are '********').
//
// Writing the catalogs of roles and credentials is forbidden too: the
// gateway forbids CREATE/ALTER ROLE and CREATE/ALTER USER MAPPING, and a
// superuser's UPDATE pg_authid SET rolsuper = true, rolpassword = ... or
// INSERT INTO pg_auth_members does the same without the statement.

// credentialColumns maps the sources (as lineage writes them) that no
// grant reads to the refusal of reading them; schema.table.* is the whole
// row. Besides credentials, it holds the statement text of other sessions
// (othersessions.go).
var credentialColumns = map[string]string{}

// anySchemaColumns are refused sources whatever the schema of their
// relation (an extension's view is created in any schema): each key is
// ".table.column" or ".table.*", matched as a suffix of the source.
var anySchemaColumns = map[string]string{}

// credentialFunctions maps the built-in functions (called bare or
// pg_catalog-qualified) that no grant calls to the refusal;
// anySchemaFunctions the functions of extensions, whatever their schema.
var credentialFunctions = map[string]string{}
var anySchemaFunctions = map[string]string{}

// credentialRelations are the relations whose columns credentialColumns
// lists, with those columns and the reason.
var credentialRelations = []struct {
	table, columns, reason string
}{
	{"pg_catalog.pg_authid", "rolpassword",
		"holds the password verifier of every role (the gateway's own upstream role included)"},
	{"pg_catalog.pg_shadow", "passwd",
		"holds the password verifier of every role (the gateway's own upstream role included)"},
	{"pg_catalog.pg_user_mapping", "umoptions",
		"holds the options of user mappings, where foreign-data wrappers keep the passwords of other servers"},
	{"pg_catalog.pg_user_mappings", "umoptions",
		"holds the options of user mappings, where foreign-data wrappers keep the passwords of other servers"},
	{"information_schema._pg_user_mappings", "umoptions",
		"holds the options of user mappings, where foreign-data wrappers keep the passwords of other servers"},
	{"information_schema.user_mapping_options", "option_value",
		"holds the options of user mappings, where foreign-data wrappers keep the passwords of other servers"},
	{"pg_catalog.pg_subscription", "subconninfo",
		"holds the connection strings of subscriptions, passwords included"},
	{"pg_catalog.pg_largeobject", "data",
		"holds the contents of every large object, whatever each object's own privileges allow"},
}

// credentialCatalogs are the catalogs of roles and credentials no
// statement may write (any class but select and copy_out).
var credentialCatalogs = setOf(`pg_catalog.pg_authid pg_catalog.pg_auth_members
	pg_catalog.pg_user_mapping pg_catalog.pg_subscription pg_catalog.pg_db_role_setting`)

func init() {
	for _, r := range credentialRelations {
		refuseColumns(credentialColumns, r.table, r.table, r.columns, r.reason, credentialRefusal)
	}
}

// refuseColumns registers in m, under the key prefix key (the relation
// as lineage writes it, or ".table" for any schema), the refusal of
// reading columns of table and of a star or whole row of it.
func refuseColumns(m map[string]string, key, table, columns, reason string, refusal func(string) string) {
	for _, c := range strings.Fields(columns) {
		col := ColumnSource(table, c)
		m[ColumnSource(key, c)] = refusal(col + " " + reason)
		m[key+".*"] = refusal("a star or whole row of " + table + " reads " + col +
			", which " + reason + "; name the other columns")
	}
}

// credentialRefusal is the denial of a credential read: why, and that no
// grant reads it.
func credentialRefusal(reason string) string {
	return reason + ": no grant reads credentials through the gateway"
}

// refusedSource returns the refusal of reading the source s, or "".
func refusedSource(s string) string {
	if refusal, ok := credentialColumns[s]; ok {
		return refusal
	}
	for suffix, refusal := range anySchemaColumns {
		if strings.HasSuffix(s, suffix) {
			return refusal
		}
	}
	return ""
}

// credentialCall records the refusal of a call of a function no grant
// calls; name is as the statement wrote it (classifyFunction).
func (a *analyzer) credentialCall(name string) {
	if a.credential != "" {
		return
	}
	if refusal, ok := credentialFunctions[bareName(name)]; ok {
		a.credential = refusal // public.pg_stat_get_activity is another function
		return
	}
	for fn, refusal := range anySchemaFunctions {
		if name == fn || strings.HasSuffix(name, "."+fn) {
			a.credential = refusal
			return
		}
	}
}

// credentials records the first refused source l names. The statement
// is then forbidden (statement), but the refusal is kept apart from the
// other reasons so that a view's definition that reads credentials
// (pg_user_mappings over pg_user_mapping.umoptions) still gives its other
// columns their lineage (ViewFromDefinition).
func (a *analyzer) credentials(l Lineage) {
	if a.credential != "" {
		return
	}
	for _, s := range l.Sources {
		if refusal := refusedSource(s); refusal != "" {
			a.credential = refusal
			return
		}
	}
}

// credentialSource reports whether l names a credential source.
func credentialSource(l Lineage) bool {
	for _, s := range l.Sources {
		if refusedSource(s) != "" {
			return true
		}
	}
	return false
}
