package model

import "time"

// Usage is what `mandate audit usage` reports and `mandate review` reads:
// per agent, role and grant, what was actually done through the gateway in a
// window. It is exact: every allowed statement or command in the window is
// counted once, under the role and grant whose decision allowed it.
type Usage struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Gateways are the gateway instance ids whose records were read.
	Gateways []string `json:"gateways,omitempty"`
	// Agents lists every agent with at least one session in the window.
	Agents []AgentUsage `json:"agents"`
	// Grants lists every (agent, role, connection) that allowed something.
	Grants []GrantUsage `json:"grants"`
	// Approvals are the requests humans approved in the window.
	Approvals []ApprovalUsage `json:"approvals,omitempty"`
}

// AgentUsage summarises one agent's sessions.
type AgentUsage struct {
	Agent    string    `json:"agent"`
	Sessions int       `json:"sessions"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// GrantUsage is the use of one grant block (a role's grant on a connection)
// by one agent.
type GrantUsage struct {
	Agent      string `json:"agent"`
	Role       string `json:"role"`
	Connection string `json:"connection"`
	// Kind is "postgres" or "ssh".
	Kind       string           `json:"kind"`
	Count      int64            `json:"count"`
	First      time.Time        `json:"first"`
	Last       time.Time        `json:"last"`
	Statements []StatementUsage `json:"statements,omitempty"`
	Commands   []CommandUsage   `json:"commands,omitempty"`
	// SampleSessions are up to five session ids, most recent first.
	SampleSessions []string `json:"sample_sessions,omitempty"`
}

// StatementUsage counts one statement class on one table.
type StatementUsage struct {
	Class          string    `json:"class"`
	Table          string    `json:"table,omitempty"`
	Columns        []string  `json:"columns,omitempty"`
	Count          int64     `json:"count"`
	First          time.Time `json:"first"`
	Last           time.Time `json:"last"`
	SampleSessions []string  `json:"sample_sessions,omitempty"`
}

// CommandUsage counts one SSH command.
type CommandUsage struct {
	Command        string    `json:"command"`
	Count          int64     `json:"count"`
	First          time.Time `json:"first"`
	Last           time.Time `json:"last"`
	SampleSessions []string  `json:"sample_sessions,omitempty"`
}

// ApprovalUsage counts approved requests of one requestable grant.
type ApprovalUsage struct {
	Agent      string `json:"agent"`
	Role       string `json:"role"`
	Connection string `json:"connection"`
	// Statement is the class and table (or the SSH command) requested.
	Class    string    `json:"class,omitempty"`
	Table    string    `json:"table,omitempty"`
	Command  string    `json:"command,omitempty"`
	Approved int       `json:"approved"`
	Last     time.Time `json:"last"`
}

// SignedUsage is the signed export form: Usage encoded as canonical JSON
// (Payload, base64) and an ed25519 signature over those bytes by the
// gateway's record key.
type SignedUsage struct {
	Payload   []byte `json:"payload"`
	KeyID     string `json:"key_id"`
	Algorithm string `json:"alg"`
	Signature []byte `json:"signature"`
}
