package pgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// copyStmt: COPY FROM STDIN needs copy_in on the table; COPY TO STDOUT
// needs copy_out on the table, or on every table the query reads plus the
// query's own accesses. Server-side files and programs are forbidden.
func (a *analyzer) copyStmt(c *pg_query.CopyStmt, an *Analyzed) {
	switch {
	case c.IsProgram:
		a.forbid("COPY with PROGRAM runs a shell command on the database server")
	case c.Filename != "":
		a.forbid("COPY to or from a server file reaches the database server's filesystem")
	}
	if c.IsFrom {
		if c.Relation == nil {
			a.forbid("COPY FROM without a table")
			return
		}
		target := a.rangeVar(c.Relation, &scope{}, "")
		a.access("copy_in", target.table)
		if cols := stringList(c.Attlist); len(cols) > 0 && target.table != "" {
			for _, col := range cols {
				a.assigns[ColumnSource(target.table, col)] = true
			}
		} else if target.table != "" {
			a.assigns[target.table+".*"] = true
		}
		sc := &scope{items: []*item{target}}
		var discard linAcc
		a.expr(c.WhereClause, sc, true, &discard)
		return
	}
	if c.Relation != nil {
		target := a.rangeVar(c.Relation, &scope{}, "")
		a.access("copy_out", target.table)
		cols := stringList(c.Attlist)
		if len(cols) == 0 {
			an.Outputs = []Lineage{target.star()}
		}
		for _, col := range cols {
			l, _ := target.col(col)
			an.Outputs = append(an.Outputs, l)
		}
		for _, l := range an.Outputs {
			a.credentials(l) // COPY pg_authid TO STDOUT (credentials.go)
		}
		return
	}
	an.Outputs = a.query(c.Query, &scope{}, false)
	for x := range a.accesses {
		if x.Class == "select" {
			a.access("copy_out", x.Table)
		}
	}
	if len(a.accesses) == 0 {
		a.access("copy_out", "")
	}
}

// transactionStmt: transaction control is always allowed; READ WRITE is
// flagged for the proxy; two-phase commit is forbidden.
func (a *analyzer) transactionStmt(t *pg_query.TransactionStmt, an *Analyzed) string {
	a.always = true
	an.ReadWrite = readWriteOption(t.Options)
	switch t.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN:
		return "BEGIN"
	case pg_query.TransactionStmtKind_TRANS_STMT_START:
		return "START TRANSACTION"
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:
		return "COMMIT"
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		return "ROLLBACK"
	case pg_query.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return "SAVEPOINT"
	case pg_query.TransactionStmtKind_TRANS_STMT_RELEASE:
		return "RELEASE"
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		an.ToSavepoint = true
		return "ROLLBACK"
	case pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
		a.forbid("two-phase commit (PREPARE TRANSACTION) is not supported through the gateway")
		return "PREPARE TRANSACTION"
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
		a.forbid("two-phase commit (COMMIT PREPARED) is not supported through the gateway")
		return "COMMIT PREPARED"
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		a.forbid("two-phase commit (ROLLBACK PREPARED) is not supported through the gateway")
		return "ROLLBACK PREPARED"
	}
	a.forbid("transaction statement the analyzer does not know")
	return "BEGIN"
}

// readWriteOption reports a transaction_read_only option that is false
// (READ WRITE) in a transaction mode list.
func readWriteOption(opts []*pg_query.Node) bool {
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil || d.Defname != "transaction_read_only" {
			continue
		}
		if c := d.Arg.GetAConst(); c != nil {
			if iv, ok := c.Val.(*pg_query.A_Const_Ival); ok && iv.Ival.GetIval() == 0 {
				return true
			}
			if bv, ok := c.Val.(*pg_query.A_Const_Boolval); ok && !bv.Boolval.GetBoolval() {
				return true
			}
			continue
		}
		return true
	}
	return false
}

// setStmt: SET/RESET of an allowlisted setting is always allowed; settings
// that change identity, name resolution, the read-only wall or how the
// server parses SQL are forbidden, and so is everything not on the list.
func (a *analyzer) setStmt(s *pg_query.VariableSetStmt, an *Analyzed) string {
	tag := "SET"
	if s.Kind == pg_query.VariableSetKind_VAR_RESET || s.Kind == pg_query.VariableSetKind_VAR_RESET_ALL {
		tag = "RESET"
	}
	if s.Kind == pg_query.VariableSetKind_VAR_RESET_ALL {
		a.forbid("RESET ALL resets the settings the gateway pins (search_path, read-only transactions)")
		return tag
	}
	name := strings.ToLower(s.Name)
	switch name {
	case "transaction", "session characteristics":
		a.always = true
		an.ReadWrite = readWriteOption(s.Args)
		return tag
	case "transaction snapshot":
		a.always = true
		return tag
	}
	var value []*pg_query.Node
	if s.Kind == pg_query.VariableSetKind_VAR_SET_VALUE {
		value = s.Args
	}
	if reason := settingRefused(name, value); reason != "" {
		a.forbid(reason)
		return tag
	}
	a.always = true
	return tag
}

// setConfigRefused is settingRefused for set_config, whose setting name is
// a string literal: the reason names the setting only when the gateway
// knows the name, so that no literal reaches the decision's reason, which
// is recorded.
func setConfigRefused(name string, value []*pg_query.Node) string {
	reason := settingRefused(name, value)
	lower := strings.ToLower(name)
	if _, known := forbiddenSettings[lower]; reason != "" && !known && !allowedSettings[lower] {
		return "set_config of a setting that is not on the gateway's list of settings a session may change"
	}
	return reason
}

// settingRefused is why a session may not change a setting (by SET, RESET
// or set_config) to value (nil: the default), or "" when it may.
func settingRefused(name string, value []*pg_query.Node) string {
	name = strings.ToLower(name)
	if name == "client_encoding" && value != nil && !utf8Value(value) {
		// With a client-only encoding such as SJIS or BIG5, a multibyte
		// character can end in a byte the gateway's UTF-8 parse reads as a
		// backslash, so the server would split statements differently.
		return "setting client_encoding to anything but UTF8 would let the server read statements differently from the gateway"
	}
	if name == "timezone" && value != nil {
		// Far from UTC, PostgreSQL 15 crashes formatting day names
		// (timezone.go).
		if reason := timeZoneRefused(value); reason != "" {
			return reason
		}
	}
	if reason := memoryRefused(name, value); reason != "" {
		return reason
	}
	if reason, ok := forbiddenSettings[name]; ok {
		return "setting " + name + " " + reason
	}
	if !allowedSettings[name] {
		return "setting " + name + " is not on the gateway's list of settings a session may change"
	}
	return ""
}

// utf8Value reports a SET argument naming the UTF8 encoding.
func utf8Value(args []*pg_query.Node) bool {
	if len(args) != 1 {
		return false
	}
	c := args[0].GetAConst()
	if c == nil {
		return false
	}
	v, ok := c.Val.(*pg_query.A_Const_Sval)
	if !ok {
		return false
	}
	norm := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(v.Sval.GetSval()))
	return norm == "utf8" || norm == "unicode"
}
