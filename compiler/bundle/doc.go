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
//
// Load's rejections are typed: errors.Is reports their class, which does
// not change their text. The classes are ErrUnsigned (no .signatures.json),
// ErrWrongKey (signed by a key that is not configured, or a signature naming
// no key id), ErrOversized (larger than the limit, compressed or unpacked),
// ErrTruncated (gzip or tar errors, an unexpected EOF, a truncated,
// non-regular or repeated entry), ErrWrongScope (roots other than
// ["mandate"], an unexpected file, a package outside the root) and
// ErrTampered (a digest mismatch, a file the signature does not cover, a
// missing file, a malformed signature or one that does not verify). A bundle
// that verifies but cannot be used (schema or Rego version, no revision, Rego
// that does not parse) and a bad set of verification keys match none.
package bundle
