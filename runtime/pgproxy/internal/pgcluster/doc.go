// Package pgcluster starts a throwaway PostgreSQL cluster for tests: initdb
// in a temporary directory (as the postgres OS user when the test runs as
// root), SCRAM-SHA-256 password authentication for a superuser, and TLS with
// a certificate authority generated for the test. Start returns a *Cluster
// and stops the server in t.Cleanup.
package pgcluster
