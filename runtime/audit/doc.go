// Package audit reads the session record for auditors and the review bot:
// Verify checks hash chains and signed checkpoints and names the first
// event deleted, altered or reordered; Export and ReadEvidence write and
// read offline evidence (JSON Lines); Usage summarises what each grant was
// used for (model.Usage) and SignUsage/VerifyUsage sign it; ListSessions,
// Timeline and Asciicast serve the sessions commands and the HTTP API.
//
// Main types: Source (what Verify reads), Report, Problem, UsageFilter.
package audit
