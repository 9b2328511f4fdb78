// Package activation holds the gateway's active policy bundle: it verifies
// and prepares a candidate off the request path, rejects what must not run
// (unsigned, tampered, wrong key or scope, truncated, oversized, older than
// the active one), swaps atomically, persists the last good bundle in the
// state directory, and fails closed when no bundle was confirmed current
// within max_age.
//
// Main types: Manager (Offer, Confirm, Restore, Current, Status), Engine
// (what a connection asks per statement), Prepared (a verified bundle with
// its engine) and RejectError (a rejection with its metric reason).
//
// Connections must call Manager.Current for every statement and never keep
// the Engine it returns: that is how revoking an agent in a new bundle takes
// effect on its next statement on connections that are already open.
package activation
