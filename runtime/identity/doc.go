// Package identity authenticates agents and humans to the gateway: it
// verifies OIDC/JWT tokens against configured issuers (discovery with a
// rotating JWKS refetched at most every KeyRefetchInterval, or a static JWKS
// file) and remembers verified tokens briefly, matches a verified token to
// exactly one agent of the policy (Matcher) and a human to their groups, and
// mints and verifies the gateway's own short-lived session tokens
// (SessionIssuer). IssueToken and JWKS mint tokens from a local key for
// quickstarts and tests.
//
// Main types: Verifier (Verify, Authenticate), Claims, Matcher, SessionIssuer.
package identity
