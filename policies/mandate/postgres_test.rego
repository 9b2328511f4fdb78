# Unit tests of mandate.postgres against policies/testdata/policy.json (loaded
# at data.mandate by the Go test runner).
package mandate.postgres_test

import data.mandate.postgres

now := 1800000000

acc(class, table) := {"class": class, "table": table}

pg(agent, stmt) := {"kind": "postgres", "agent": agent, "connection": "orders_db", "now_unix": now, "statement": stmt}

decide(agent, stmt) := d if {
	d := postgres.decision with input as pg(agent, stmt)
}

test_select_on_granted_table_is_allowed if {
	d := decide("fulfilment-planner", {"accesses": [acc("select", "public.orders")]})
	d.result == "allow"
	d.role == "order_reader"
	d.grant == "orders_db"
	d.masking == ["pii"]
	d.read_only == true
	d.source == {"file": "roles.hcl", "line": 4, "column": 3}
	contains(d.reason, "order_reader")
	contains(d.reason, "select public.orders")
}

test_join_of_granted_tables_is_allowed if {
	d := decide("fulfilment-planner", {"accesses": [acc("select", "public.orders"), acc("select", "public.customers")]})
	d.result == "allow"
}

test_access_without_table_needs_the_class_only if {
	d := decide("fulfilment-planner", {"accesses": [{"class": "select"}]})
	d.result == "allow"
}

test_ungranted_table_is_denied if {
	d := decide("fulfilment-planner", {"accesses": [acc("select", "public.invoices")]})
	d.result == "deny"
	contains(d.reason, "select on public.invoices")
	contains(d.reason, "order_reader")
	d.source.file == "agents.hcl"
}

test_requestable_update_needs_approval if {
	d := decide("fulfilment-planner", {"accesses": [acc("update", "public.orders")]})
	d.result == "needs_approval"
	d.requestable == "order_reader"
	d.hint == "this statement is requestable with approval from group oncall (role order_reader, max 1h)"
	d.source == {"file": "roles.hcl", "line": 10, "column": 3}
}

test_active_approval_allows_requestable_update if {
	d := postgres.decision with input as object.union(
		pg("fulfilment-planner", {"accesses": [acc("update", "public.orders")]}),
		{"approvals": [{"id": "apr-1", "role": "order_reader"}]},
	)
	d.result == "allow"
	d.role == "order_reader"
	d.read_only == false
	contains(d.reason, "apr-1")
	d.source == {"file": "roles.hcl", "line": 12, "column": 7}
}

test_approval_reported_when_standing_grants_do_not_suffice if {
	d := postgres.decision with input as object.union(
		pg("fulfilment-planner", {"accesses": [acc("select", "public.orders"), acc("update", "public.orders")]}),
		{"approvals": [{"id": "apr-1", "role": "order_reader"}]},
	)
	d.result == "allow"
	contains(d.reason, "approval apr-1")
	d.source == {"file": "roles.hcl", "line": 12, "column": 7}
}

test_approval_of_another_role_does_not_allow if {
	d := postgres.decision with input as object.union(
		pg("fulfilment-planner", {"accesses": [acc("update", "public.orders")]}),
		{"approvals": [{"id": "apr-2", "role": "order_writer"}]},
	)
	d.result == "needs_approval"
}

test_update_of_another_table_is_not_requestable if {
	d := decide("fulfilment-planner", {"accesses": [acc("update", "public.customers")]})
	d.result == "deny"
}

test_union_of_roles_covers_a_statement if {
	d := decide("fulfilment-writer", {"accesses": [acc("update", "public.orders"), acc("select", "public.customers")]})
	d.result == "allow"
	d.read_only == false
}

test_single_covering_role_is_reported if {
	d := decide("fulfilment-writer", {"accesses": [acc("insert", "public.orders")]})
	d.role == "order_writer"
	d.masking == ["pii"]
}

test_functions_must_be_granted if {
	deny := decide("fulfilment-planner", {"accesses": [acc("select", "public.orders")], "functions": ["audit.log_change"]})
	deny.result == "deny"
	contains(deny.reason, "audit.log_change")
	allow := decide("fulfilment-writer", {"accesses": [acc("insert", "public.orders")], "functions": ["audit.log_change", "pg_catalog.lower"]})
	allow.result == "allow"
}

test_filter_on_masked_column_is_denied if {
	d := decide("fulfilment-planner", {"accesses": [acc("select", "public.customers")], "filter_columns": ["public.customers.email"]})
	d.result == "deny"
	contains(d.reason, "public.customers.email")
	contains(d.reason, "allow_filter")
	d.source == {"file": "masking.hcl", "line": 2, "column": 3}
}

test_filter_on_allow_filter_column_is_allowed if {
	d := decide("fulfilment-planner", {"accesses": [acc("select", "public.customers")], "filter_columns": ["public.customers.region", "public.customers.id"]})
	d.result == "allow"
}

test_forbidden_statement_is_denied if {
	d := decide("fulfilment-writer", {"tag": "SET", "forbidden": "SET ROLE changes the session's privileges", "always": true})
	d.result == "deny"
	contains(d.reason, "SET ROLE")
}

test_always_statement_needs_a_grant_on_the_connection if {
	allow := decide("fulfilment-planner", {"tag": "BEGIN", "always": true})
	allow.result == "allow"
	deny := decide("idle-bot", {"tag": "BEGIN", "always": true})
	deny.result == "deny"
}

test_unknown_agent_and_connection_are_denied if {
	a := decide("ghost", {"accesses": [acc("select", "public.orders")]})
	a.result == "deny"
	contains(a.reason, "ghost")
	c := postgres.decision with input as object.union(pg("fulfilment-planner", {}), {"connection": "nope"})
	c.result == "deny"
	contains(c.reason, "nope")
}

test_ssh_connection_is_rejected if {
	d := postgres.decision with input as object.union(pg("deploy-bot", {"accesses": []}), {"connection": "build_host"})
	d.result == "deny"
	contains(d.reason, "not postgres")
}

test_overdue_review_deny if {
	d := decide("stale-bot", {"accesses": [acc("select", "sales.leads")]})
	d.result == "deny"
	contains(d.reason, "stale_reader")
	contains(d.reason, "overdue")
	d.source == {"file": "stale.hcl", "line": 6, "column": 3}
}

test_overdue_review_require_approval if {
	d := decide("stale-bot", {"accesses": [acc("select", "stock.items")]})
	d.result == "needs_approval"
	contains(d.reason, "approval is required")
	d.requestable == "stale_approver"
}

test_overdue_review_require_approval_with_approval if {
	d := postgres.decision with input as object.union(
		pg("stale-bot", {"accesses": [acc("select", "stock.items")]}),
		{"approvals": [{"id": "apr-3", "role": "stale_approver"}]},
	)
	d.result == "allow"
}

test_review_grace_period if {
	d := postgres.decision with input as object.union(
		pg("stale-bot", {"accesses": [acc("select", "stock.items")]}),
		{"now_unix": 1700000000 + 3600},
	)
	d.result == "allow"
}

test_overdue_review_warn_allows_and_reports if {
	d := decide("stale-bot", {"accesses": [acc("select", "hr.staff")]})
	d.result == "allow"
	d.overdue == ["stale_warn"]
}

test_table_patterns_do_not_cross_dots if {
	d := decide("stale-bot", {"accesses": [acc("select", "sales.q1.leads")]})
	d.result == "deny"
}

test_missing_statement_is_denied if {
	d := postgres.decision with input as {"kind": "postgres", "agent": "fulfilment-planner", "connection": "orders_db", "now_unix": now}
	d.result == "deny"
}

test_whole_row_filter_on_masked_table_is_denied if {
	d := decide("fulfilment-planner", {"accesses": [acc("select", "public.customers")], "filter_columns": ["public.customers.*"]})
	d.result == "deny"
	contains(d.reason, "public.customers.*")
	contains(d.reason, "allow_filter")
}

test_whole_row_filter_on_unmasked_table_is_allowed if {
	d := decide("fulfilment-planner", {"accesses": [acc("select", "public.orders")], "filter_columns": ["public.orders.*"]})
	d.result == "allow"
}

test_whole_row_filter_is_allowed_when_every_rule_allows_filtering if {
	cols := [
		{"column": "public.customers.email", "method": "partial", "allow_filter": true, "source": {"file": "m.hcl", "line": 1, "column": 1}},
		{"column": "public.customers.region", "method": "hash", "allow_filter": true, "source": {"file": "m.hcl", "line": 2, "column": 1}},
	]
	d := decide("fulfilment-planner", {"accesses": [acc("select", "public.customers")], "filter_columns": ["public.customers.*"]}) with data.mandate.maskings.pii.columns as cols
	d.result == "allow"
}

test_whole_row_filter_matches_column_patterns if {
	cols := [{"column": "public.cust*.s*", "method": "redact", "source": {"file": "m.hcl", "line": 1, "column": 1}}]
	d := decide("fulfilment-planner", {"accesses": [acc("select", "public.customers")], "filter_columns": ["public.customers.*"]}) with data.mandate.maskings.pii.columns as cols
	d.result == "deny"
	other := decide("fulfilment-planner", {"accesses": [acc("select", "public.customers")], "filter_columns": ["public.orders.*"]}) with data.mandate.maskings.pii.columns as cols
	other.result == "allow"
}

test_approval_hint_names_approvers_and_limit if {
	d := decide("fulfilment-planner", {"accesses": [acc("update", "public.orders")]})
	d.hint == "this statement is requestable with approval from group oncall (role order_reader, max 1h)"
	not contains(d.hint, "mandate ")
}

test_approval_hint_counts_approvals if {
	d := decide("fulfilment-planner", {"accesses": [acc("update", "public.orders")]}) with data.mandate.roles.order_reader.approval.min_approvals as 2
		with data.mandate.roles.order_reader.approval.max_ttl_seconds as 5400
		with data.mandate.roles.order_reader.approval.approvers as ["oncall", "dba"]
	d.hint == "this statement is requestable with 2 approvals from groups oncall, dba (role order_reader, max 90m)"
}

test_overdue_review_hint_names_reviewers if {
	d := decide("stale-bot", {"accesses": [acc("select", "stock.items")]})
	d.hint == "this statement needs an approval for role stale_approver, whose review is overdue: ask group oncall to approve it or to review the role"
}

test_missing_statement_is_denied if {
	d := postgres.decision with input as {"kind": "postgres", "agent": "fulfilment-planner", "connection": "orders_db", "now_unix": now}
	d.result == "deny"
	d.reason == "no statement was given"
}

test_statement_that_is_not_an_object_is_denied if {
	d := decide("fulfilment-planner", "SELECT 1")
	d.result == "deny"
	d.reason == "no statement was given"
}
