// Package chain is the tamper-evidence format of the session record: the
// canonical encoding and SHA-256 hash chain of events, ed25519-signed
// checkpoints over the chain head, and the gateway's record key.
//
// Main types: Link (the hashed fields of one event), Checkpoint, Key.
package chain
