// Package pgrecord connects the PostgreSQL proxy to the recorder: Recorder
// implements pgproxy.Recorder by writing session, statement (with its
// decision, before it runs) and result events.
package pgrecord
