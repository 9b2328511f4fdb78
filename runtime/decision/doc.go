// Package decision is the gateway's decision engine: OPA embedded as a
// library, with one prepared query per entrypoint of the Rego library
// (model.EntrypointPostgres, EntrypointSSH, EntrypointSession), evaluated
// against the data of one verified bundle, behind a bounded cache.
//
// Between the cache and OPA sits a fast path (fast.go): a transcription of
// this release's Rego library into Go over the bundle's compiled model,
// used only when the bundle's .rego files are that library byte for byte.
// It answers inputs without approvals (every other input goes to OPA) with
// exactly the decision the Rego gives, reason and source included; a
// differential test and fuzz target hold the two equal over random
// policies and inputs. Bundles carrying other Rego are decided by OPA alone.
//
// An Engine belongs to one bundle revision and never changes; activating a
// new bundle means building a new Engine (New) and swapping the pointer.
// Engines are safe for concurrent use. Decide fails closed: an evaluation
// error or an undefined result is a deny Decision carrying the reason.
package decision
