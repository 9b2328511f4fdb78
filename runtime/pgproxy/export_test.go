package pgproxy

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
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
