// Package recorder is what every gateway connection writes its session
// record to: sessions, authentication, each statement or command with its
// decision and result, approvals used, and SSH terminal streams. Events are
// hash-chained per gateway instance, checkpointed with the gateway's ed25519
// key, and committed to a store.Store by one writer goroutine with group
// commit.
//
// Main types: Recorder (one per gateway), Session, Event, Config.
//
// Ownership: New starts the writer goroutine; Close stops it after flushing
// and writing a shutdown checkpoint. Sessions belong to the connection that
// started them and must be ended by it.
package recorder
