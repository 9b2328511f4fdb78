package pgproxy

import (
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mandatehq/mandate/model"
)

// Exports for external tests (package pgproxy_test), which may import
// packages that import pgproxy (runtime/recorder/pgrecord).

type TestEnv = env

func NewTestEnv(t testing.TB, rec Recorder) *TestEnv {
	return newEnv(t, func(c *Config) { c.Recorder = rec })
}

func (e *env) Table(t testing.TB, name, columns, insert string) string {
	return e.table(t, name, columns, insert)
}

func (e *env) Connect(t testing.TB) *pgx.Conn { return e.connect(t, "require") }

func (e *env) Deny(table string) { e.policy.set(func(p *testPolicy) { p.denied[table] = true }) }

func (e *env) Server() *Server { return e.srv }

// BadTokenDSN is a connection string for agent1 with a token that fails.
func (e *env) BadTokenDSN() string {
	return strings.Replace(e.dsn("agent1", "require"), "password=tok-agent1", "password=nope", 1)
}

func WaitFor(t testing.TB, what string, cond func() bool) { waitFor(t, what, cond) }

// NewTestEnvConfig is NewTestEnv with the server config adjusted by f
// (logger, authenticator, secret lookups).
func NewTestEnvConfig(t testing.TB, rec Recorder, f func(*Config)) *TestEnv {
	return newEnv(t, func(c *Config) { c.Recorder = rec; f(c) })
}

// AddConnection adds (or replaces) a policy connection.
func (e *env) AddConnection(c *model.Connection) {
	e.policy.set(func(p *testPolicy) { p.conns[c.Name] = c })
}

// Mask makes statements on table apply masking "pii", which redacts columns.
func (e *env) Mask(table string, columns ...string) {
	e.policy.set(func(p *testPolicy) {
		p.masked[table] = true
		m := &model.Masking{Name: "pii"}
		for _, c := range columns {
			m.Columns = append(m.Columns, &model.ColumnRule{Column: table + "." + c, Method: "redact"})
		}
		p.maskings["pii"] = m
	})
}

// DSN is a connection string to the gateway for agent on connection conn
// with token as the password.
func (e *env) DSN(agent, conn, token string) string {
	host, port, _ := net.SplitHostPort(e.addr)
	return "host=" + host + " port=" + port + " dbname=" + conn + " user=" + agent +
		" password=" + token + " sslmode=require connect_timeout=20"
}
