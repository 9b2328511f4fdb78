// Package pgproxy is mandate's PostgreSQL wire-protocol gateway: it admits a
// client (TLS, Postgres 17 direct TLS, cancel requests), authenticates the
// agent with its token, connects upstream with the connection's own
// credential, and then decides every statement, masks results and records
// what happened before relaying bytes between the two.
//
// One file per connection stage, after CockroachDB's sqlproxyccl:
//
//	server.go       Server: listeners, sessions, cancel keys, Close
//	admit.go        startup packets: SSLRequest, GSSENCRequest, direct TLS, CancelRequest
//	authenticate.go cleartext password over TLS -> Authenticator -> session decision
//	dial.go         pgconn connect upstream (SCRAM, TLS per policy), Hijack, BackendKeyData
//	cancel.go       the gateway's cancel keys mapped to the upstream's
//	session.go      one session's lifetime and ownership
//	loop.go         event loops that run sessions in their steady state
//	flipconn.go     a socket read through Go's netpoller or, on a loop, without blocking
//	forward.go      client -> upstream: decide, forward or substitute
//	decide.go       analysis + current policy per statement
//	track.go        SQL-level PREPARE/DECLARE as the server answers them
//	names.go        protocol-level statement/portal names and their upstream names
//	copyin.go       COPY FROM STDIN: the server's copy-in mode in the op queue
//	ops.go          the queue of responses the upstream owes
//	relay.go        upstream -> client: op queue, masking, results, records
//	mask.go         masking plans from RowDescription origins and lineage
//	maskset.go      compiled masking blocks
//	catalog.go      table OID / view lookups on a separate upstream connection
//	errors.go       SQLSTATEs and the ErrorResponses the gateway sends
//	record.go       what the Recorder receives
//
// The sequence of one session:
//
//	client                 gateway                          upstream
//	SSLRequest      ->     'S', TLS handshake
//	StartupMessage  ->     AuthenticationCleartextPassword
//	PasswordMessage ->     Authenticator, session decision ->  pgconn.Connect, Hijack
//	                <-     AuthenticationOk, ParameterStatus*, BackendKeyData (gateway's), ReadyForQuery
//	Query/Parse...  ->     analyze + decide (current policy) -> forwarded, or replaced by a
//	                                                           statement that fails to parse
//	                <-     results (masked), the denial's 42501 in place of the parse error
//
// A denied statement is not answered by the gateway itself: it is replaced
// upstream by a statement that cannot parse, and the resulting ErrorResponse
// is rewritten into the denial. The server then does what it does for any
// failed statement (aborts the transaction block, discards extended-protocol
// messages until Sync), so ordering, pipelining and transaction status stay
// exactly PostgreSQL's. Protocol reference:
// https://www.postgresql.org/docs/current/protocol-flow.html
package pgproxy
