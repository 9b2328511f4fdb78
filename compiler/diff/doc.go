// Package diff compares the effective access of two compiled policies, agent
// by agent: which statement classes on which tables, functions, SSH
// commands, requestable grants, masking and identities each agent gains or
// loses, and through which role. It also loads a policy from a git revision
// of a policy repository, for `mandate diff`.
package diff
