# Package mandate.ssh decides one SSH exec command or an interactive shell
# (input.kind == "ssh"). A command is allowed when a usable grant's command
# pattern matches it whole; "*" matches any run of characters except a
# newline and the shell metacharacters ; & | ` $ ( ) < >, so a pattern never
# lets a command chain another. A shell needs interactive = true.
package mandate.ssh

import data.mandate.lib

# separators stop "*" in command patterns.
separators := ["\n", "\r", ";", "&", "|", "`", "$", "(", ")", "<", ">"]

default command := ""

command := input.command

shell if input.shell == true

covers(g) if {
	shell
	g.interactive == true
}

covers(g) if {
	not shell
	some p in g.commands
	glob.match(p, separators, command)
}

first_covering(grants) := rs[0] if {
	rs := [r | some r, g in grants; covers(g)]
	count(rs) > 0
}

what := "open an interactive shell" if {
	shell
} else := sprintf("run %q", [command])

default decision := {
	"result": "deny",
	"reason": "the policy could not decide this command (fail closed)",
}

decision := lib.unknown_agent if {
	not lib.agent
} else := lib.unknown_connection if {
	not lib.connection
} else := lib.wrong_type("ssh") if {
	lib.kind != "ssh"
} else := lib.deny("no command was given", lib.agent.source) if {
	not shell
	command == ""
} else := lib.no_grant if {
	lib.has_no_grant
} else := lib.allow(r, lib.usable[r], concat("", ["agent ", input.agent, " may ", what, ": role ", r, " grants it on ", input.connection])) if {
	r := first_covering(lib.usable)
} else := lib.allow(r, lib.approved[r], sprintf("agent %s may %s: approval %s of role %s grants it on %s", [input.agent, what, lib.approval_id[r], r, input.connection])) if {
	r := first_covering(lib.approved)
} else := lib.review_outcome(r, what) if {
	r := first_covering(lib.blocked)
} else := lib.requestable_outcome(r, what) if {
	r := first_covering(lib.pending)
} else := lib.deny(
	sprintf("agent %s may not %s on %s: no command pattern of its roles (%s) matches", [input.agent, what, input.connection, lib.role_names]),
	lib.agent.source,
)
