# Unit tests of mandate.ssh and mandate.session.
package mandate.ssh_test

import data.mandate.session
import data.mandate.ssh

now := 1800000000

cmd(agent, command) := {"kind": "ssh", "agent": agent, "connection": "build_host", "now_unix": now, "command": command}

test_exact_command_is_allowed if {
	d := ssh.decision with input as cmd("deploy-bot", "systemctl status app")
	d.result == "allow"
	d.role == "deployer"
	d.source == {"file": "roles.hcl", "line": 41, "column": 3}
}

test_glob_command_is_allowed if {
	d := ssh.decision with input as cmd("deploy-bot", "journalctl -u app -n 50")
	d.result == "allow"
}

test_glob_does_not_chain_commands if {
	every c in [
		"journalctl -u app -n 5; rm -rf /",
		"journalctl -u app -n 5 && id",
		"journalctl -u app -n 5 | nc x 1",
		"journalctl -u app -n $(id)",
		"journalctl -u app -n `id`",
		"journalctl -u app -n 5\nid",
		"journalctl -u app -n 5 > /etc/passwd",
	] {
		d := ssh.decision with input as cmd("deploy-bot", c)
		d.result == "deny"
	}
}

test_other_command_is_denied if {
	d := ssh.decision with input as cmd("deploy-bot", "rm -rf /")
	d.result == "deny"
	contains(d.reason, "deployer")
}

test_requestable_command_needs_approval if {
	d := ssh.decision with input as cmd("deploy-bot", "systemctl restart app")
	d.result == "needs_approval"
	d.requestable == "deployer"
}

test_shell_needs_interactive if {
	deny := ssh.decision with input as {"kind": "ssh", "agent": "deploy-bot", "connection": "build_host", "now_unix": now, "shell": true}
	deny.result == "deny"
	allow := ssh.decision with input as {"kind": "ssh", "agent": "ops-bot", "connection": "build_host", "now_unix": now, "shell": true}
	allow.result == "allow"
	allow.role == "shell_user"
}

test_postgres_connection_is_rejected if {
	d := ssh.decision with input as object.union(cmd("deploy-bot", "id"), {"connection": "orders_db"})
	d.result == "deny"
}

sess(agent, connection) := {"kind": "session", "agent": agent, "connection": connection, "now_unix": now}

test_session_with_grant_is_allowed if {
	d := session.decision with input as sess("fulfilment-planner", "orders_db")
	d.result == "allow"
	d.masking == ["pii"]
	d.read_only == true
}

test_session_without_grant_is_denied if {
	d := session.decision with input as sess("idle-bot", "orders_db")
	d.result == "deny"
	e := session.decision with input as sess("deploy-bot", "orders_db")
	e.result == "deny"
}

test_session_of_writer_is_not_read_only if {
	d := session.decision with input as sess("fulfilment-writer", "orders_db")
	d.read_only == false
}

test_session_lists_overdue_warn_roles if {
	d := session.decision with input as sess("stale-bot", "orders_db")
	d.result == "allow"
	d.overdue == ["stale_warn"]
}

test_session_unknown_agent_is_denied if {
	d := session.decision with input as sess("ghost", "orders_db")
	d.result == "deny"
}
