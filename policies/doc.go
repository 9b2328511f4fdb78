// Package policies is the Rego library every mandate bundle carries: the
// decision entrypoints for Postgres statements (data.mandate.postgres.decision),
// SSH commands (data.mandate.ssh.decision) and sessions
// (data.mandate.session.decision), evaluated against the compiled model at
// data.mandate. The .rego files are embedded; Files lists them.
package policies
