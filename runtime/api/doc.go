// Package api is the gateway's HTTP API: /healthz, /readyz, /metrics,
// GET /v1/bundle, POST /v1/decide (dry-run decisions), POST /v1/token (an
// agent's OIDC token exchanged for a short-lived gateway session token) and,
// for humans, GET /v1/whoami and the auditor routes over the session record
// (/v1/sessions..., /v1/audit/usage, /v1/audit/verify, /v1/audit/export).
// Every error is an RFC 9457 problem document.
//
// Humans authenticate with an OIDC bearer token (OIDCHumans: verified by
// the identity package, groups and API roles from the active policy); agent
// session tokens never grant a human role.
//
// Main types: Server (an http.Handler built from Deps), Authenticator and
// OIDCHumans, Human, DecideRequest and DecideResponse, TokenRequest and
// TokenResponse, Problem, and Client with Decide, which `mandate explain
// --gateway URL` calls.
package api
