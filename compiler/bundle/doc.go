// Package bundle builds, signs, writes, reads and verifies mandate's OPA
// bundles: a .manifest (revision = the policy repository's git commit), the
// compiled model at mandate/data.json, the Rego library of package policies
// under mandate/, and a .signatures.json per OPA's bundle signing spec
// (ES256 or RS256). Build output is byte-for-byte reproducible apart from the
// signature.
//
// Main API: Build and Bundle.Write (compile and sign), Load (read and
// verify), Revision (the git revision of a policy directory), GenerateKey,
// KeyID (signing keys).
package bundle
