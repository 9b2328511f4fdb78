// Package api is the gateway's HTTP API: /healthz, /readyz, /metrics,
// GET /v1/bundle, POST /v1/decide (dry-run decisions) and POST /v1/token
// (an agent's OIDC token exchanged for a short-lived gateway session
// token). Every error is an RFC 9457 problem document.
//
// Main types: Server (an http.Handler built from Deps), DecideRequest and
// DecideResponse, TokenRequest and TokenResponse, Problem, and Client with
// Decide, which `mandate explain --gateway URL` calls.
package api
