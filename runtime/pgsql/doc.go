// Package pgsql understands SQL statements for the Postgres gateway: it parses
// them with the real PostgreSQL parser (pg_query) and reports, per statement,
// the (class, table) accesses, the functions outside a built-in safe set, the
// columns used for filtering, what flows into stored data, and the lineage
// of every result column, so the policy can decide the statement and the
// proxy can mask its results.
//
// Main types: Analyzed (one statement: its model.Statement, Outputs and
// Writes lineage), Lineage, Analyzer (Analyze with a bounded cache by text
// and by shape, for the gateway's hot path) and View (lineage through
// views). Analyze, Normalize and Fingerprint are the plain entry points.
// docs/sql.md describes the classification rules.
package pgsql
