// Package compiler loads a policy repository (a directory tree of *.hcl
// files), validates it and builds the compiled model.Policy.
//
// The loader is layered like Terraform's: read and parse one file
// (parser.go), collect a directory (dir.go), decode each block type in its own
// file (connection.go, masking.go, group.go, role.go, agent.go, variable.go,
// locals.go), check cross-references (validate.go) and build the model
// (build.go). Every step returns hcl.Diagnostics and keeps going, so Load
// reports every problem at once. Main entry points: Load and WriteDiagnostics.
package compiler
