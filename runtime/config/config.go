package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults for fields left unset. docs/gateway.md lists every one of them.
const (
	DefaultStateDir  = "state"
	DefaultAPIAddr   = "127.0.0.1:8080"
	DefaultPoll      = 10 * time.Second
	DefaultMaxAge    = 24 * time.Hour
	DefaultMaxSize   = 64 << 20 // 64 MiB
	DefaultLogLevel  = "info"
	DefaultRetention = 400 * 24 * time.Hour
)

// Config is a whole gateway.hcl. Relative paths in it are resolved against
// the directory of the file (Dir) by Validate.
type Config struct {
	// Dir is the directory of the configuration file; relative paths are
	// resolved against it.
	Dir string
	// StateDir holds the last good bundle, the self-signed certificate and
	// the embedded store. Default "state".
	StateDir string
	// LogLevel is debug, info, warn or error. Default "info".
	LogLevel string
	Listen   Listen
	// API configures who may call the HTTP API.
	API API
	// TLS is nil when the file has no tls block: the gateway then creates a
	// self-signed certificate in StateDir.
	TLS    *TLS
	Bundle Bundle
	// Issuers are the OIDC issuers agents and humans authenticate with, in
	// file order.
	Issuers []*Issuer
	// Store is where the recorder keeps its log; nil means the default
	// embedded SQLite store at StateDir/mandate.db.
	Store *Store
}

// Listen holds the listening addresses ("host:port"). An empty address
// turns that listener off.
type Listen struct {
	// API serves /healthz, /readyz, /metrics and /v1/*. Default
	// "127.0.0.1:8080".
	API string
	// APIPlaintext serves the API over plain HTTP instead of HTTPS. Default
	// false; meant for loopback or behind a TLS-terminating proxy.
	APIPlaintext bool
	// Postgres is the PostgreSQL listener. Default off.
	Postgres string
	// SSH is the SSH listener. Default off.
	SSH       string
	DeclRange hcl.Range
}

// API configures the HTTP API's authentication.
type API struct {
	// OpenDryRun serves GET /v1/bundle and POST /v1/decide without a
	// token. Default false: they need a human OIDC token whose groups hold
	// any API role. Health, readiness and metrics are always open.
	OpenDryRun bool
	DeclRange  hcl.Range
}

// TLS names the gateway's certificate and key (PEM files).
type TLS struct {
	Cert      string
	Key       string
	DeclRange hcl.Range
}

// Bundle says where the signed policy bundle comes from and how it is
// checked.
type Bundle struct {
	// Source is a URL: file://path (watched) or https://host/path (polled).
	// Required.
	Source string
	// Keys are the verification keys (PEM files, or inline PEM) by key id.
	// verification_key = "path" sets one key whose id is key_id, or derived
	// from the key itself (the id "mandate compile" signs with) when key_id
	// is unset, recorded here as "". verification_keys = { kid = "path" }
	// sets several, for rotation. At least one is required.
	Keys map[string]string
	// Poll is how often the source is checked. Default 10s.
	Poll time.Duration
	// MaxAge is how long the gateway keeps deciding without confirming its
	// bundle is current; past it, it denies everything. 0 disables the
	// check. Default 24h.
	MaxAge time.Duration
	// AllowRollback accepts bundles whose commit time is older than the
	// active one. Default false.
	AllowRollback bool
	// MaxSize is the largest bundle accepted, in bytes. Default 64 MiB.
	MaxSize   int64
	DeclRange hcl.Range
}

// Issuer is one OIDC issuer, by discovery or by a static JWKS file.
type Issuer struct {
	// Name is the block label.
	Name string
	// URL is the issuer identifier (the "iss" claim). Required.
	URL string
	// Audience is the "aud" value tokens must carry. Required.
	Audience string
	// JWKSFile, when set, is a static JWKS file used instead of discovery.
	JWKSFile  string
	DeclRange hcl.Range
}

// Store says where the recorder keeps the record: one of SQLite (embedded,
// a file path) or Postgres (a DSN, usually env("...")).
type Store struct {
	SQLite string
	// Postgres is a DSN; it is a secret and never logged.
	Postgres string
	// Durability is "sync" (an event is durable before the statement runs)
	// or "async". Default "sync".
	Durability string
	// Retention is how long records are kept. Default 400 days.
	Retention time.Duration
	// KeepRawStatements stores each statement's raw text, literals and all,
	// next to the redacted text. Default false: literals can hold personal
	// data, so only the redacted text is kept.
	KeepRawStatements bool
	DeclRange         hcl.Range
}
