package pgproxy

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
)

// Rewrite rules as oracles. A rule rewrites a write before it runs, on
// rows whose masked values stay: CREATE RULE r AS ON DELETE TO t WHERE
// OLD.ssn LIKE '9%' DO INSTEAD NOTHING makes DELETE FROM t WHERE id = 1
// say DELETE 0 or DELETE 1 by the masked ssn, and a DO ALSO INSERT INTO
// log VALUES (OLD.ssn) into a table with a unique or CHECK constraint
// fails on some values. The gateway reads each enabled INSERT, UPDATE or
// DELETE rule of the relations a write touches (pg_get_ruledef) and
// checks its WHERE clause and actions as it checks a trigger's code
// (triggers.go): reading a masked column of OLD or NEW (an insert's NEW
// holds only what the statement wrote), the whole row, or a relation
// holding masked columns denies the write, and code it cannot follow (a
// call outside the built-in safe set) counts as reading every masked
// column. What the actions write is checked as the statement's own
// writes are. Rows a rule returns to the client (a SELECT action, the
// RETURNING of an action) are not the rows the statement's lineage
// describes, so the masking could not follow them: such a rule denies.

// rulesQuery lists the enabled rules of a relation named by schema and
// name that rewrite writes (ev_type 2 update, 3 insert, 4 delete; a
// view's _RETURN rule is 1), with their definitions. pg_get_ruledef
// qualifies the names the catalog connection's search_path (the pinned
// one) would not resolve to the same object, so the analysis resolves
// them as the rule does.
const rulesQuery = `SELECT r.rulename::text, r.ev_type::text, pg_catalog.pg_get_ruledef(r.oid)
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND r.ev_type IN ('2', '3', '4') AND r.ev_enabled <> 'D'
ORDER BY r.rulename`

// rewriteRule is one enabled rule of a relation on INSERT, UPDATE or
// DELETE.
type rewriteRule struct {
	name   string
	events uint16       // trigInsert, trigUpdate or trigDelete
	where  *triggerCode // nil: no WHERE clause
	// actions are its actions but NOTIFY (whose notification is sent
	// whatever rows the rule applies to, with a constant payload).
	actions *triggerCode
	// selects is set when an action is a SELECT, whose rows go to the
	// client; returning when an action has RETURNING, whose rows the
	// statement's RETURNING returns.
	selects, returning bool
}

// readRules reads the rules of schema.name into rk.
func readRules(ctx context.Context, pc *pgconn.PgConn, schema, name string, rk *relKeys) error {
	res := pc.ExecParams(ctx, rulesQuery, [][]byte{[]byte(schema), []byte(name)}, []uint32{25, 25}, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("looking up the rules: %w", res.Err)
	}
	for _, row := range res.Rows {
		ru := ruleOf(string(row[2]))
		ru.name = string(row[0])
		switch string(row[1]) {
		case "2":
			ru.events = trigUpdate
		case "3":
			ru.events = trigInsert
		default:
			ru.events = trigDelete
		}
		rk.rules = append(rk.rules, ru)
	}
	return nil
}

// ruleOf analyzes a rule definition (pg_get_ruledef): its WHERE clause and
// its actions. A definition it cannot read counts as reading everything.
func ruleOf(def string) rewriteRule {
	ru := rewriteRule{actions: &triggerCode{}}
	tree, err := pg_query.Parse(def)
	var rs *pg_query.RuleStmt
	if err == nil && len(tree.Stmts) == 1 {
		rs = tree.Stmts[0].GetStmt().GetRuleStmt()
	}
	if rs == nil {
		ru.actions.fail("could not be parsed")
		return ru
	}
	if rs.WhereClause != nil {
		ru.where = &triggerCode{}
		sel := &pg_query.SelectStmt{TargetList: []*pg_query.Node{pg_query.MakeResTargetNodeWithVal(rs.WhereClause, 0)},
			Op: pg_query.SetOperation_SETOP_NONE, LimitOption: pg_query.LimitOption_LIMIT_OPTION_DEFAULT}
		ru.where.addRuleSQL(tree.Version, &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sel}})
	}
	for _, a := range rs.Actions {
		switch {
		case a.GetNotifyStmt() != nil:
			continue
		case a.GetSelectStmt() != nil:
			ru.selects = true
		case len(a.GetInsertStmt().GetReturningList()) > 0, len(a.GetUpdateStmt().GetReturningList()) > 0,
			len(a.GetDeleteStmt().GetReturningList()) > 0:
			ru.returning = true
		case a.GetInsertStmt() == nil && a.GetUpdateStmt() == nil && a.GetDeleteStmt() == nil:
			ru.actions.fail("has an action it cannot read")
			continue
		}
		ru.actions.addRuleSQL(tree.Version, a)
	}
	// The rows of a relation an action writes are read to find the rows
	// it changes; the columns it reads there are in reads, and what it
	// writes is checked as written (checkRules).
	ru.actions.rels = notWritten(ru.actions)
	if ru.returning {
		// What RETURNING computes goes to the statement's RETURNING (a
		// rule denied then), not to stored data: the copies are judged
		// on the actions without it.
		kept := &triggerCode{}
		for _, a := range rs.Actions {
			if a.GetNotifyStmt() != nil || a.GetSelectStmt() != nil {
				continue
			}
			c := proto.Clone(a).(*pg_query.Node)
			if x := c.GetInsertStmt(); x != nil {
				x.ReturningList = nil
			}
			if x := c.GetUpdateStmt(); x != nil {
				x.ReturningList = nil
			}
			if x := c.GetDeleteStmt(); x != nil {
				x.ReturningList = nil
			}
			kept.addRuleSQL(tree.Version, c)
		}
		kept.rels = notWritten(kept)
		ru.actions.kept = kept
	}
	return ru
}

// notWritten returns the relations tc reads rows of that it does not
// write.
func notWritten(tc *triggerCode) []string {
	return slices.DeleteFunc(tc.rels, func(rel string) bool {
		return slices.ContainsFunc(tc.writes, func(w writeTarget) bool { return w.table == rel })
	})
}

// addRuleSQL analyzes one statement of a rule, deparsed (version is the
// parse tree's).
func (tc *triggerCode) addRuleSQL(version int32, n *pg_query.Node) {
	sql, err := pg_query.Deparse(&pg_query.ParseResult{Version: version, Stmts: []*pg_query.RawStmt{{Stmt: n}}})
	if err != nil {
		tc.fail("could not be deparsed")
		return
	}
	tc.addSQL(sql)
	// A rule's functions and operators were resolved when it was created,
	// and pg_get_ruledef qualifies those the pinned search_path would not
	// find: a namesake created since does not run instead.
	tc.builtins, tc.operators = nil, nil
}

// checkRules checks the rules of member (the relation w names, a member
// of its inheritance tree, or a view) that w fires, and queues with add
// what their actions write. returning is set when the statement returns
// rows of its writes (RETURNING).
func (ss *session) checkRules(w writeTarget, member string, ms *maskSet, add func(writeTarget), returning bool) string {
	fail := func(err error) string {
		ss.srv.cfg.Logger.Warn("postgres rule lookup", "session", ss.rec.ID, "err", err)
		return "masking applies and the rules of " + member + ", which this statement writes, could not be looked up (fail closed)"
	}
	r, err := ss.srv.catalog.relation(ss.conn, member)
	if err != nil {
		return fail(err)
	}
	k, err := ss.srv.catalog.keys(ss.conn, member)
	if err != nil {
		return fail(err)
	}
	ev := w.events
	if ev == 0 {
		ev = trigEvents
	}
	for _, ru := range k.rules {
		if ru.events&ev == 0 {
			continue
		}
		if w.trigDepth >= maxTriggerDepth {
			return "masking applies and the rules this statement fires write through too many relations to follow (fail closed)"
		}
		who := "rule " + ru.name
		if ru.selects || ru.returning && returning {
			what := "a SELECT action"
			if !ru.selects {
				what = "an action with RETURNING"
			}
			return "masking applies: this statement fires " + who + " on " + member + ", which has " + what +
				": the rows it returns are not the statement's own, and the gateway cannot mask them (fail closed)"
		}
		// An insert's NEW holds what the statement wrote; an update's NEW
		// and OLD, and a delete's OLD, keep the stored values.
		stored := ru.events&(trigUpdate|trigDelete) != 0
		for _, part := range []struct {
			what string
			code *triggerCode
		}{{"WHERE clause", ru.where}, {"DO clause", ru.actions}} {
			if part.code == nil {
				continue
			}
			if reason := ss.checkTriggerCode(who, nil, part.what, part.code, r, member, w.table, stored, ms); reason != "" {
				return reason
			}
			for _, tw := range part.code.writes {
				tw.trigDepth = w.trigDepth + 1
				add(tw)
			}
		}
	}
	return ""
}

// returnsRows reports whether sql has RETURNING anywhere: the rows a
// rule's RETURNING computes then reach the client, or a statement that
// reads them (a data-modifying WITH).
func returnsRows(sql string) bool {
	sc, err := pg_query.Scan(sql)
	if err != nil {
		return true
	}
	return slices.ContainsFunc(sc.Tokens, func(t *pg_query.ScanToken) bool { return t.Token == pg_query.Token_RETURNING })
}
