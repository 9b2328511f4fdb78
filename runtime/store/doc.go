// Package store keeps the session record: events, sessions, checkpoints and
// record keys, in SQLite (embedded, WAL mode, pure Go) or PostgreSQL (shared
// by gateway replicas). Both have the same schema, created by versioned
// migrations embedded in the binary and applied by Open.
//
// Main types: Store (the one interface the rest of the gateway uses), Event,
// Session, Batch. No other package sees SQL.
package store
