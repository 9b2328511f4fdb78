package model

// Rego entrypoints every bundle carries (policies/). Each one evaluates to a
// Decision object for an Input.
const (
	// EntrypointPostgres decides one SQL statement: input.kind == "postgres".
	EntrypointPostgres = "data.mandate.postgres.decision"
	// EntrypointSSH decides one SSH exec command or shell: input.kind == "ssh".
	EntrypointSSH = "data.mandate.ssh.decision"
	// EntrypointSession decides whether an agent may open a session on a
	// connection at all (roles held, review status): input.kind == "session".
	EntrypointSession = "data.mandate.session.decision"
)

// Decision results.
const (
	Allow         = "allow"
	Deny          = "deny"
	NeedsApproval = "needs_approval"
)

// Statement classes a postgres grant may name.
var StatementClasses = []string{
	"select", "insert", "update", "delete", "ddl", "copy_in", "copy_out", "call",
}

// WriteClasses are the statement classes that can change data or schema; a
// session whose grants hold none of them runs in read-only transactions.
var WriteClasses = []string{"insert", "update", "delete", "ddl", "copy_in", "call"}

// Input is what the gateway asks the policy about. Fields that do not apply to
// Kind are omitted.
type Input struct {
	// Kind is "postgres", "ssh" or "session".
	Kind       string `json:"kind"`
	Agent      string `json:"agent"`
	Connection string `json:"connection"`
	// NowUnix is the gateway's clock, for review due dates.
	NowUnix int64 `json:"now_unix"`
	// Statement is one parsed SQL statement (kind postgres).
	Statement *Statement `json:"statement,omitempty"`
	// Command is the SSH exec command; empty with Shell for an interactive shell.
	Command string `json:"command,omitempty"`
	Shell   bool   `json:"shell,omitempty"`
	// Approvals are the ids of approved requests active for this session; an
	// approved request allows what its requestable grant allows until it expires.
	Approvals []ActiveApproval `json:"approvals,omitempty"`
}

// ActiveApproval is an approved, unexpired request bound to a session.
type ActiveApproval struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

// Statement is what the SQL analyzer found in one statement.
type Statement struct {
	// Fingerprint identifies the normalized statement (literals removed).
	Fingerprint string `json:"fingerprint"`
	// Tag is the PostgreSQL command tag family ("SELECT", "INSERT", "SET"...).
	Tag string `json:"tag"`
	// Accesses are the (class, table) pairs the statement needs; every one
	// must be covered by a grant. Tables are schema-qualified.
	Accesses []Access `json:"accesses"`
	// Functions are the called functions outside the built-in safe set,
	// schema-qualified when the statement qualified them.
	Functions []string `json:"functions,omitempty"`
	// FilterColumns are schema.table.column names used in WHERE, JOIN,
	// GROUP BY, ORDER BY, HAVING or window clauses.
	FilterColumns []string `json:"filter_columns,omitempty"`
	// Always is set for statements every session may run whatever its grants
	// (transaction control, harmless SET/SHOW, DISCARD, DEALLOCATE).
	Always bool `json:"always,omitempty"`
	// Forbidden is set, with a reason, for statements no grant may allow
	// (SET ROLE, SET SESSION AUTHORIZATION, changing search_path, ...).
	Forbidden string `json:"forbidden,omitempty"`
}

// Access is one class of access to one table.
type Access struct {
	Class string `json:"class"`
	Table string `json:"table,omitempty"`
}

// Decision is the policy's answer.
type Decision struct {
	// Result is allow, deny or needs_approval.
	Result string `json:"result"`
	// Reason is a sentence a human can read.
	Reason string `json:"reason"`
	// Source is the policy block that decided (the grant that allowed, or the
	// agent, role or approval block behind a denial) when there is one.
	Source *Source `json:"source,omitempty"`
	// Role and Grant (the connection name of the grant block) that allowed.
	Role  string `json:"role,omitempty"`
	Grant string `json:"grant,omitempty"`
	// Masking names the Masking blocks that apply to results.
	Masking []string `json:"masking,omitempty"`
	// ReadOnly is set when the agent holds no write class on the connection.
	ReadOnly bool `json:"read_only,omitempty"`
	// Hint says what the agent could do next (request an approval).
	Hint string `json:"hint,omitempty"`
	// Requestable is set with needs_approval: the role whose approval block
	// makes the statement requestable.
	Requestable string `json:"requestable,omitempty"`
	// Overdue lists roles whose review is overdue and whose on_overdue is warn.
	Overdue []string `json:"overdue,omitempty"`
	// ID identifies this decision (set by the gateway's engine, not by Rego);
	// records and logs cite it.
	ID string `json:"id,omitempty"`
	// Revision is the bundle revision (policy commit) that decided (set by
	// the engine, not by Rego).
	Revision string `json:"revision,omitempty"`
}
