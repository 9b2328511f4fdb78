// Package version holds the build's version and commit, set with -ldflags.
package version

import "runtime"

// Set at link time by the Makefile; the defaults mark a development build.
var (
	Version = "dev"
	Commit  = "none"
)

// Go is the Go version the binary was built with.
func Go() string { return runtime.Version() }
