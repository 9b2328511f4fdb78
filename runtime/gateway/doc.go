// Package gateway assembles `mandate serve`: it reads the configuration,
// restores the last good bundle, runs the bundle source into the
// activation manager, configures identity from the issuer blocks, and
// opens the record store and recorder (written by the PostgreSQL listener,
// read by the API's auditor routes, usage signed with the record key),
// serves the HTTP API (humans authenticated by api.OIDCHumans) and the
// PostgreSQL listener until its context ends, then drains them within
// ShutdownTimeout.
//
// Main types: Gateway (New, Start, Shutdown, Run, Current). With no tls
// block, the gateway makes a self-signed certificate in its state directory
// (selfSignedCert) and says so in its log.
//
// Ownership: Start starts one goroutine per listener and one for the
// bundle source; Shutdown stops all of them and waits for them.
package gateway
