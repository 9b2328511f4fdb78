// Package explain answers "may this agent run this?" offline, for
// `mandate explain`: it opens a policy directory (compiled and signed in
// memory with a throwaway key) or a signed bundle file (verified), builds the
// gateway's decision engine from it, analyzes SQL with the gateway's
// analyzer, and decides each statement or the command with the same engine.
package explain
