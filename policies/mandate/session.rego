# Package mandate.session decides whether an agent may open a session on a
# connection at all (input.kind == "session"): it must hold a usable grant on
# the connection (a standing grant whose role's review does not block it, or
# an approved requestable one). The decision carries the masking, read-only
# and overdue status the session runs with.
package mandate.session

import data.mandate.lib

default decision := {
	"result": "deny",
	"reason": "the policy could not decide this session (fail closed)",
}

what := sprintf("open a session on %s", [input.connection])

first(grants) := rs[0] if {
	rs := [r | some r, _ in grants]
	count(rs) > 0
}

decision := lib.unknown_agent if {
	not lib.agent
} else := lib.unknown_connection if {
	not lib.connection
} else := lib.no_grant if {
	lib.has_no_grant
} else := lib.allow_first(what) if {
	lib.any_usable
} else := lib.review_outcome(r, what) if {
	r := first(lib.blocked)
} else := lib.requestable_outcome(r, what) if {
	r := first(lib.pending)
}
