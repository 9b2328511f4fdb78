package model

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// SchemaVersion is the version of the data layout below. It is written to the
// bundle manifest's metadata and checked by the gateway before activation.
const SchemaVersion = 1

// Root is the single bundle root mandate owns; the compiled model lives at
// data.mandate and the Rego library under the package mandate.*.
const Root = "mandate"

// Source is where a block or attribute was declared in the policy repository.
// File is relative to the repository root, with forward slashes.
type Source struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Policy is the compiled model. All maps are keyed by the block's name. Its
// JSON encoding (sorted map keys, no wall-clock time) is byte-for-byte
// reproducible for the same repository contents.
type Policy struct {
	SchemaVersion int                    `json:"schema_version"`
	Connections   map[string]*Connection `json:"connections"`
	Maskings      map[string]*Masking    `json:"maskings"`
	Groups        map[string]*Group      `json:"groups"`
	Roles         map[string]*Role       `json:"roles"`
	Agents        map[string]*Agent      `json:"agents"`
}

// SecretRef names a secret the gateway resolves when it connects. The value
// it points to never enters a bundle.
type SecretRef struct {
	// Kind is "env" or "file".
	Kind string `json:"kind"`
	// Name is the environment variable or the file path (relative paths are
	// resolved against the gateway's working directory).
	Name string `json:"name"`
}

func (r SecretRef) String() string { return r.Kind + "(\"" + r.Name + "\")" }

// Connection is an upstream system agents reach through the gateway.
type Connection struct {
	Name string `json:"name"`
	// Type is "postgres" or "ssh".
	Type string `json:"type"`
	// Address is host:port, or for postgres the path of the server's Unix
	// socket file (see SocketAddress).
	Address  string `json:"address"`
	Database string `json:"database,omitempty"`
	// Credential is how the gateway authenticates upstream.
	Credential Credential `json:"credential"`
	// TLSMode for postgres: disable, require, verify-ca, verify-full.
	TLSMode string `json:"tls_mode,omitempty"`
	// TLSCA optionally names the CA bundle used to verify the upstream.
	TLSCA *SecretRef `json:"tls_ca,omitempty"`
	// HostKey pins an SSH upstream's host key (authorized_keys format).
	HostKey string `json:"host_key,omitempty"`
	Source  Source `json:"source"`
}

// SocketAddress splits a postgres connection address naming a Unix socket,
// the absolute path of PostgreSQL's socket file (DIR/.s.PGSQL.PORT, as in
// /var/run/postgresql/.s.PGSQL.5432), into the directory and port libpq
// and pgconn take. ok is false for any other address; err says why an
// absolute path is not a socket address.
func SocketAddress(addr string) (dir, port string, ok bool, err error) {
	if !strings.HasPrefix(addr, "/") {
		return "", "", false, nil
	}
	dir, base := path.Split(addr)
	port, found := strings.CutPrefix(base, ".s.PGSQL.")
	if n, perr := strconv.Atoi(port); !found || perr != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return "", "", true, fmt.Errorf("a Unix socket address is the path of the server's socket file, DIR/.s.PGSQL.PORT (such as /var/run/postgresql/.s.PGSQL.5432)")
	}
	if dir != "/" {
		dir = strings.TrimSuffix(dir, "/")
	}
	return dir, port, true, nil
}

// Credential holds references only; see SecretRef.
type Credential struct {
	Username   string     `json:"username"`
	Password   *SecretRef `json:"password,omitempty"`
	PrivateKey *SecretRef `json:"private_key,omitempty"`
}

// Masking is a named set of masking rules that grants refer to.
type Masking struct {
	Name      string          `json:"name"`
	Columns   []*ColumnRule   `json:"columns"`
	Detectors []*DetectorRule `json:"detectors"`
	// HashKey keys the "hash" method (HMAC-SHA256). Required when a rule uses it.
	HashKey *SecretRef `json:"hash_key,omitempty"`
	Source  Source     `json:"source"`
}

// ColumnRule masks one column, named schema.table.column (patterns allowed in
// the column part: "public.customers.*").
type ColumnRule struct {
	Column string `json:"column"`
	// Method is one of redact, partial, hash, null, email.
	Method string `json:"method"`
	// AllowFilter permits WHERE, JOIN, GROUP BY and ORDER BY on the column,
	// which would otherwise be denied because it leaks values by inference.
	AllowFilter bool   `json:"allow_filter,omitempty"`
	Source      Source `json:"source"`
}

// DetectorRule masks values found by content inside text results.
type DetectorRule struct {
	// Detector is credit_card, email, us_ssn, iban, api_key or pattern.
	Detector string `json:"detector"`
	// Name is the block label; equal to Detector for the built-in ones.
	Name   string `json:"name"`
	Method string `json:"method"`
	// Pattern is the RE2 expression of a custom "pattern" detector.
	Pattern string `json:"pattern,omitempty"`
	Source  Source `json:"source"`
}

// Group is a set of humans (approvers, reviewers, auditors).
type Group struct {
	Name string `json:"name"`
	// Members are OIDC emails or subjects.
	Members []string `json:"members,omitempty"`
	// Claims match every human whose token carries all of these claim values
	// (a claim that is a list matches when it contains the value).
	Claims map[string]string `json:"claims,omitempty"`
	// GitHub are GitHub handles, used to request pull-request reviews.
	GitHub []string `json:"github,omitempty"`
	// Roles are gateway API roles the group holds, such as "auditor".
	APIRoles []string `json:"api_roles,omitempty"`
	Source   Source   `json:"source"`
}

// Role is a named bundle of grants.
type Role struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Postgres grants keyed by connection name (one grant block per connection).
	Postgres map[string]*PostgresGrant `json:"postgres,omitempty"`
	// SSH grants keyed by connection name.
	SSH map[string]*SSHGrant `json:"ssh,omitempty"`
	// MaxSessionSeconds caps a gateway session token issued for this role; 0 = default.
	MaxSessionSeconds int64     `json:"max_session_seconds,omitempty"`
	Approval          *Approval `json:"approval,omitempty"`
	Review            *Review   `json:"review,omitempty"`
	Source            Source    `json:"source"`
}

// PostgresGrant allows statement classes on tables of one connection.
type PostgresGrant struct {
	Connection string `json:"connection"`
	// Statements are statement classes: select, insert, update, delete, ddl,
	// copy_in, copy_out, call, or "*".
	Statements []string `json:"statements"`
	// Tables are schema-qualified names or patterns ("sales.*", "*.*").
	Tables []string `json:"tables"`
	// Functions are the functions a statement may call beyond the built-in
	// safe set, schema-qualified or bare ("pg_catalog.now", "lower").
	Functions []string `json:"functions,omitempty"`
	// Masking names Masking blocks applied to results of this grant.
	Masking []string `json:"masking,omitempty"`
	Source  Source   `json:"source"`
}

// SSHGrant allows commands (glob patterns, "*" matches any run of characters
// except a newline) on one SSH connection.
type SSHGrant struct {
	Connection string   `json:"connection"`
	Commands   []string `json:"commands"`
	// Interactive allows a shell session (recorded).
	Interactive bool   `json:"interactive,omitempty"`
	Source      Source `json:"source"`
}

// Approval makes grants requestable with a human's approval.
type Approval struct {
	Postgres     map[string]*PostgresGrant `json:"postgres,omitempty"`
	SSH          map[string]*SSHGrant      `json:"ssh,omitempty"`
	Approvers    []string                  `json:"approvers"`
	MinApprovals int                       `json:"min_approvals"`
	MaxTTLSecond int64                     `json:"max_ttl_seconds"`
	Source       Source                    `json:"source"`
}

// Review is a role's recertification cadence. Dates are UTC, "YYYY-MM-DD".
type Review struct {
	EverySeconds       int64    `json:"every_seconds"`
	Reviewers          []string `json:"reviewers"`
	LastReviewed       string   `json:"last_reviewed"`
	UnusedAfterSeconds int64    `json:"unused_after_seconds,omitempty"`
	// GraceSeconds is added to the due time before OnOverdue applies.
	GraceSeconds int64 `json:"grace_seconds,omitempty"`
	// OnOverdue is warn, require_approval or deny.
	OnOverdue string `json:"on_overdue"`
	// DueUnix is last_reviewed + every, in Unix seconds (UTC midnight based).
	DueUnix int64  `json:"due_unix"`
	Source  Source `json:"source"`
}

// Agent is an automated identity and the roles it holds.
type Agent struct {
	Name       string      `json:"name"`
	Owner      string      `json:"owner,omitempty"`
	Identities []*Identity `json:"identities"`
	Roles      []string    `json:"roles"`
	Source     Source      `json:"source"`
}

// Identity matches an OIDC token: the issuer must equal Issuer and, when set,
// the subject must equal Subject and every claim in Claims must match.
type Identity struct {
	Issuer  string            `json:"issuer"`
	Subject string            `json:"subject,omitempty"`
	Claims  map[string]string `json:"claims,omitempty"`
	Source  Source            `json:"source"`
}
