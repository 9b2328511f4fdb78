# Package mandate.lib holds what the decision entrypoints share: the agent of
# input.agent, the roles it holds, their grants on input.connection, review
# status, active approvals and the decision objects. Every lookup is by name
# (data.mandate.agents[input.agent]); nothing here scans all agents or roles,
# and grant sets are objects keyed by role name.
package mandate.lib

agent := data.mandate.agents[input.agent]

connection := data.mandate.connections[input.connection]

# kind is the connection type; a role's grants for it live under the same key
# (role.postgres[connection] or role.ssh[connection]).
kind := connection.type

write_classes := {"insert", "update", "delete", "ddl", "copy_in", "call", "*"}

# standing maps each role of the agent with a grant on input.connection to
# the grant (a role missing from the policy has none).
standing[r] := g if {
	some r in agent.roles
	g := data.mandate.roles[r][kind][input.connection]
}

# requestable maps each role of the agent with a requestable grant on
# input.connection (in its approval block) to that grant.
requestable[r] := g if {
	some r in agent.roles
	g := data.mandate.roles[r].approval[kind][input.connection]
}

# approval_id maps each role with an active approval to its smallest id.
approval_id[r] := sort(ids)[0] if {
	some a in input.approvals
	r := a.role
	ids := [b.id | some b in input.approvals; b.role == r]
}

# overdue_roles are the roles with a grant on the connection whose review is
# past due plus grace.
overdue_roles contains r if {
	some r, _ in standing
	review := data.mandate.roles[r].review
	input.now_unix > review.due_unix + object.get(review, "grace_seconds", 0)
}

on_overdue(r) := data.mandate.roles[r].review.on_overdue

# blocked_roles may not be used now: overdue with on_overdue deny (or any
# value other than warn and require_approval: fail closed), or with
# require_approval and no active approval for the role.
blocked_roles contains r if {
	some r in overdue_roles
	not on_overdue(r) in {"warn", "require_approval"}
}

blocked_roles contains r if {
	some r in overdue_roles
	on_overdue(r) == "require_approval"
	not approval_id[r]
}

# usable: standing grants of roles not blocked. The common case, no overdue
# review, is the standing object itself, with no per-role evaluation.
usable := standing if {
	count(overdue_roles) == 0
} else := {r: g |
	some r, g in standing
	not blocked_roles[r]
}

# approved: requestable grants of roles with an active approval (none
# without approvals in the input).
approved := {} if {
	not input.approvals
} else := {r: g |
	some r, g in requestable
	approval_id[r]
}

# blocked: standing grants of blocked roles.
blocked[r] := g if {
	some r, g in standing
	blocked_roles[r]
}

# pending: requestable grants without an active approval.
pending[r] := g if {
	some r, g in requestable
	not approval_id[r]
}

any_usable if count(usable) > 0

any_usable if count(approved) > 0

# overdue_warn lists the roles with a grant on the connection whose review is
# overdue and whose on_overdue is warn: allowed, but reported.
overdue_warn := [] if {
	count(overdue_roles) == 0
} else := sort([r |
	some r in overdue_roles
	on_overdue(r) == "warn"
])

# masking is the union of the masking blocks of every grant the agent holds on
# the connection, blocked or approved ones included: fail closed.
masking := sort({m |
	some _, g in standing
	some m in g.masking
}) if {
	count(approved) == 0
} else := sort({m |
	some _, g in standing
	some m in g.masking
} | {m |
	some _, g in approved
	some m in g.masking
})

# read_only is set when no usable postgres grant holds a write class.
default read_only := true

read_only := false if {
	some _, g in usable
	some c in g.statements
	c in write_classes
}

read_only := false if {
	some _, g in approved
	some c in g.statements
	c in write_classes
}

read_only := false if kind != "postgres"

role_names := concat(", ", sort(agent.roles))

format_date(unix) := time.format([unix * 1000000000, "UTC", "2006-01-02"])

# Decision objects.

deny(reason, source) := {
	"result": "deny",
	"reason": reason,
	"source": source,
}

deny_without_source(reason) := {
	"result": "deny",
	"reason": reason,
}

allow(r, g, reason) := {
	"result": "allow",
	"reason": reason,
	"source": g.source,
	"role": r,
	"grant": input.connection,
	"masking": masking,
	"read_only": read_only,
	"overdue": overdue_warn,
}

needs_approval(r, reason, source) := {
	"result": "needs_approval",
	"reason": reason,
	"source": source,
	"role": r,
	"grant": input.connection,
	"requestable": r,
	"hint": approval_hint(r),
	"masking": masking,
	"overdue": overdue_warn,
}

# subject names what input asks about, for hints.
subject := {"postgres": "statement", "ssh": "command", "session": "session"}[input.kind]

# group_list reads ["a"] as "group a" and ["a", "b"] as "groups a, b".
group_list(gs) := sprintf("group %s", [gs[0]]) if {
	count(gs) == 1
} else := sprintf("groups %s", [concat(", ", gs)]) if {
	count(gs) > 1
} else := "no approver group"

# duration reads seconds as "1h", "90m" or "45s".
duration(s) := sprintf("%dh", [s / 3600]) if {
	s > 0
	s % 3600 == 0
} else := sprintf("%dm", [s / 60]) if {
	s > 0
	s % 60 == 0
} else := sprintf("%ds", [s])

# approval_hint says, without naming any command, how the agent's need can be
# met: the approver groups of the role's approval block (how many approvals,
# for how long), or, for an overdue review, the role's reviewers.
approval_hint(r) := sprintf("this %s is requestable with approval from %s (role %s, max %s)", [subject, group_list(a.approvers), r, duration(a.max_ttl_seconds)]) if {
	a := data.mandate.roles[r].approval
	object.get(a, "min_approvals", 1) <= 1
} else := sprintf("this %s is requestable with %d approvals from %s (role %s, max %s)", [subject, a.min_approvals, group_list(a.approvers), r, duration(a.max_ttl_seconds)]) if {
	a := data.mandate.roles[r].approval
} else := sprintf("this %s needs an approval for role %s, whose review is overdue: ask %s to approve it or to review the role", [subject, r, group_list(object.get(data.mandate.roles[r].review, "reviewers", []))])

# allow_first allows through the first usable role, else the first approved.
allow_first(what) := allow(r, usable[r], concat("", ["agent ", input.agent, " may ", what, ": role ", r, " grants it on ", input.connection])) if {
	rs := [r | some r, _ in usable]
	r := rs[0]
} else := allow(r, approved[r], sprintf("agent %s may %s: approval %s of role %s grants it on %s", [input.agent, what, approval_id[r], r, input.connection])) if {
	rs := [r | some r, _ in approved]
	r := rs[0]
}

# Shared denials and outcomes, in the order the entrypoints check them.

unknown_agent := deny_without_source(sprintf("agent %q is not defined in the policy", [input.agent]))

unknown_connection := deny(sprintf("connection %q is not defined in the policy", [input.connection]), agent.source)

wrong_type(want) := deny(
	sprintf("connection %s is of type %s, not %s", [input.connection, kind, want]),
	connection.source,
)

no_grant := deny(
	sprintf("agent %s holds no role with a grant on connection %s (roles: %s)", [input.agent, input.connection, role_names]),
	agent.source,
)

has_no_grant if {
	count(standing) == 0
	count(requestable) == 0
}

# review_outcome decides when only the grant of role r, blocked by its
# overdue review, would allow.
review_outcome(r, what) := deny(
	sprintf("agent %s may not %s: the review of role %s was due on %s and is overdue (on_overdue = deny)", [input.agent, what, r, format_date(data.mandate.roles[r].review.due_unix)]),
	data.mandate.roles[r].review.source,
) if {
	on_overdue(r) != "require_approval"
} else := needs_approval(
	r,
	sprintf("agent %s may not %s without an approval: the review of role %s was due on %s and is overdue, so an approval is required (on_overdue = require_approval)", [input.agent, what, r, format_date(data.mandate.roles[r].review.due_unix)]),
	data.mandate.roles[r].review.source,
)

requestable_outcome(r, what) := needs_approval(
	r,
	sprintf("agent %s may %s only with an approval: role %s makes it requestable", [input.agent, what, r]),
	data.mandate.roles[r].approval.source,
)
