# Package mandate.postgres decides one SQL statement (input.kind == "postgres").
# A statement is allowed when it is not forbidden and every access (class,
# table) and every called function is covered by a usable grant of the agent
# on input.connection; a filter on a masked column is denied.
package mandate.postgres

import data.mandate.lib

statement := input.statement

# has_statement guards the "no statement" denial: `not is_object(...)` of an
# undefined input.statement is itself undefined, while `not has_statement`
# is true.
has_statement if is_object(input.statement)

default accesses := []

accesses := statement.accesses

default functions := []

functions := statement.functions

default filter_columns := []

filter_columns := statement.filter_columns

class_ok(g, class) if class in g.statements

class_ok(g, _) if "*" in g.statements

# table_ok(g, t): t is "" (an access to no table) or matches a table pattern
# of g; a pattern's "*" does not cross a dot.
table_ok(_, "")

table_ok(g, t) if t in g.tables

table_ok(g, t) if {
	t != ""
	some p in g.tables
	glob.match(p, ["."], t)
}

covers(g, a) if {
	class_ok(g, a.class)
	table_ok(g, object.get(a, "table", ""))
}

function_ok(g, f) if {
	some p in g.functions
	glob.match(p, ["."], f)
}

# A bare name in a grant also matches the pg_catalog function and the other
# way round: search_path cannot be changed through the gateway.
function_ok(g, f) if {
	some p in g.functions
	concat(".", ["pg_catalog", p]) == f
}

function_ok(g, f) if {
	some p in g.functions
	concat(".", ["pg_catalog", f]) == p
}

# covers_all(g): grant g alone covers the whole statement.
covers_all(g) if {
	every a in accesses {
		covers(g, a)
	}
	every f in functions {
		function_ok(g, f)
	}
}

# Coverage by the usable and approved grants together.
pool_covers(a) if {
	some _, g in lib.usable
	covers(g, a)
}

pool_covers(a) if {
	some _, g in lib.approved
	covers(g, a)
}

pool_function_ok(f) if {
	some _, g in lib.usable
	function_ok(g, f)
}

pool_function_ok(f) if {
	some _, g in lib.approved
	function_ok(g, f)
}

uncovered := [a | some a in accesses; not pool_covers(a)]

uncovered_functions := [f | some f in functions; not pool_function_ok(f)]

covered if {
	lib.any_usable
	count(uncovered) == 0
	count(uncovered_functions) == 0
}

# covers_rest(g): grant g covers what the usable grants leave uncovered.
covers_rest(g) if {
	every a in uncovered {
		covers(g, a)
	}
	every f in uncovered_functions {
		function_ok(g, f)
	}
}

# usable_covers(a): the standing grants alone cover access a.
usable_covers(a) if {
	some _, g in lib.usable
	covers(g, a)
}

usable_function_ok(f) if {
	some _, g in lib.usable
	function_ok(g, f)
}

# usable_alone: the statement needs no approved grant.
usable_alone if {
	every a in accesses {
		usable_covers(a)
	}
	every f in functions {
		usable_function_ok(f)
	}
}

# first_needing_approval is the first access the standing grants leave open.
first_needing_approval := [a | some a in accesses; not usable_covers(a)][0]

# decider is the grant to report: when the standing grants suffice, the first
# one covering the statement alone, else the first covering its first
# access; otherwise the approved grant that covers the statement alone or
# the first access the standing grants leave open.
decider := ["usable", r] if {
	# the common case: one usable grant and no approval, which covered
	# already showed covers the whole statement
	count(lib.usable) == 1
	count(lib.approved) == 0
	some r, _ in lib.usable
} else := ["usable", rs[0]] if {
	usable_alone
	rs := [r | some r, g in lib.usable; covers_all(g)]
	count(rs) > 0
} else := ["usable", rs[0]] if {
	usable_alone
	rs := [r | some r, g in lib.usable; covers(g, accesses[0])]
	count(rs) > 0
} else := ["usable", rs[0]] if {
	usable_alone
	rs := [r | some r, _ in lib.usable]
	count(rs) > 0
} else := ["approved", rs[0]] if {
	rs := [r | some r, g in lib.approved; covers_all(g)]
	count(rs) > 0
} else := ["approved", rs[0]] if {
	rs := [r | some r, g in lib.approved; covers(g, first_needing_approval)]
	count(rs) > 0
} else := ["approved", rs[0]] if {
	rs := [r | some r, _ in lib.approved]
	count(rs) > 0
}

describe(a) := concat(" ", [a.class, a.table]) if {
	a.table != ""
} else := a.class

what := concat(", ", [describe(a) | some a in accesses]) if {
	count(accesses) > 0
} else := concat(" ", ["run", object.get(statement, "tag", "this statement")])

uncovered_text := sprintf("%s on %s", [uncovered[0].class, uncovered[0].table]) if {
	uncovered[0].table != ""
} else := uncovered[0].class if {
	count(uncovered) > 0
} else := concat(", ", uncovered_functions)

# masked_filters are the filter columns a masking rule of the agent's grants
# covers without allow_filter.
masked_filters contains [c, m, rule] if {
	count(filter_columns) > 0
	some m in lib.masking
	some rule in data.mandate.maskings[m].columns
	not rule.allow_filter
	some c in filter_columns
	filter_matches(rule.column, c)
}

filter_matches(pattern, c) if glob.match(pattern, ["."], c)

# A natural join or a whole-row reference reports "schema.table.*": every
# column rule on that table matches it, so it is denied unless every one of
# them allows filtering.
filter_matches(pattern, c) if {
	endswith(c, ".*")
	parts := split(pattern, ".")
	count(parts) > 1
	glob.match(concat(".", array.slice(parts, 0, count(parts) - 1)), ["."], trim_suffix(c, ".*"))
}

default decision := {
	"result": "deny",
	"reason": "the policy could not decide this statement (fail closed)",
}

decision := lib.unknown_agent if {
	not lib.agent
} else := lib.unknown_connection if {
	not lib.connection
} else := lib.wrong_type("postgres") if {
	lib.kind != "postgres"
} else := lib.deny("no statement was given", lib.agent.source) if {
	not has_statement
} else := lib.deny(sprintf("statement is never allowed: %s", [statement.forbidden]), lib.agent.source) if {
	statement.forbidden
	statement.forbidden != ""
} else := lib.allow_first(concat("", [what, " (every session with a grant on ", input.connection, " may)"])) if {
	# any_usable implies a grant, so no_grant may come after this and
	# the next two: the common allow path never computes requestable
	statement.always == true
	lib.any_usable
} else := masked_decision if {
	covered
	count(masked_filters) > 0
} else := allow_decision if {
	covered
} else := lib.no_grant if {
	lib.has_no_grant
} else := lib.review_outcome(review_role, what) if {
	review_role
} else := lib.requestable_outcome(pending_role, what) if {
	pending_role
} else := lib.deny(
	sprintf("agent %s may not %s on %s: none of its roles (%s) grants %s", [input.agent, what, input.connection, lib.role_names, uncovered_text]),
	lib.agent.source,
)

# review_role is the first blocked role whose grant covers the rest.
review_role := rs[0] if {
	rs := [r | some r, g in lib.blocked; covers_rest(g)]
	count(rs) > 0
}

# pending_role is the first role whose requestable grant covers the rest.
pending_role := rs[0] if {
	rs := [r | some r, g in lib.pending; covers_rest(g)]
	count(rs) > 0
}

allow_decision := lib.allow(r, lib.usable[r], reason) if {
	decider[0] == "usable"
	r := decider[1]
	reason := concat("", ["agent ", input.agent, " may ", what, ": role ", r, " grants it on ", input.connection])
} else := lib.allow(r, lib.approved[r], reason) if {
	decider[0] == "approved"
	r := decider[1]
	reason := sprintf("agent %s may %s: approval %s of role %s grants it on %s", [input.agent, what, lib.approval_id[r], r, input.connection])
}

masked_decision := lib.deny(
	sprintf("agent %s may not filter on %s: it is masked by %s (method %s), and filtering would reveal its values; set allow_filter = true on the column rule to permit it", [input.agent, c, m, rule.method]),
	rule.source,
) if {
	[c, m, rule] := sort(masked_filters)[0]
}
