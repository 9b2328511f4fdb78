package pgproxy

import (
	"strings"

	"github.com/mandatehq/mandate/runtime/pgsql"
)

// checkReadOnlyViews returns why a statement of a read-only session may
// not run: a view it reads (through views of views) calls a function whose
// effect PostgreSQL lets through a read-only transaction (an advisory
// lock, pg_notify, lo_create, pg_terminate_backend, set_config: see
// pgsql.ReadOnlyEffect). The view names no such function to the policy,
// and the read-only wall upstream does not stop it: SELECT count(*) FROM
// v, over SELECT pg_try_advisory_lock(1), left the lock held. A view that
// cannot be looked up denies (fail closed).
func (ss *session) checkReadOnlyViews(an *pgsql.Analyzed) string {
	var lookupErr error
	exp := an.ExpandViews(func(table string) *pgsql.View {
		v, err := ss.srv.catalog.view(ss.conn, table)
		if err != nil && lookupErr == nil {
			lookupErr = err
		}
		return v
	})
	if lookupErr != nil {
		ss.srv.cfg.Logger.Warn("postgres view lookup", "session", ss.rec.ID, "err", lookupErr)
		return "the session is read-only and a view this statement reads could not be resolved (fail closed)"
	}
	var effects []string
	for _, f := range exp.ViewCode {
		if pgsql.ReadOnlyEffect(f) {
			effects = append(effects, f)
		}
	}
	if len(effects) == 0 {
		return ""
	}
	return "the session is read-only and a view this statement reads calls " + strings.Join(effects, ", ") +
		", whose effect a read-only transaction does not stop"
}
