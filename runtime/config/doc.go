// Package config loads the gateway's own configuration (gateway.hcl) with
// the same diagnostics as policy: every problem is an hcl.Diagnostic with a
// file:line:col subject, a short summary and a detail that says the fix.
//
// Main types: Config (the whole file) with Listen, TLS, Bundle, Issuer and
// Store; Load reads a file, Parse reads bytes, and Config.Validate fills
// defaults and rejects nonsense naming the field.
package config
