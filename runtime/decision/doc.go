// Package decision is the gateway's decision engine: OPA embedded as a
// library, with one prepared query per entrypoint of the Rego library
// (model.EntrypointPostgres, EntrypointSSH, EntrypointSession), evaluated
// against the data of one verified bundle, behind a bounded cache.
//
// An Engine belongs to one bundle revision and never changes; activating a
// new bundle means building a new Engine (New) and swapping the pointer.
// Engines are safe for concurrent use. Decide fails closed: an evaluation
// error or an undefined result is a deny Decision carrying the reason.
package decision
