// Package demotest runs `make demo` (scripts/demo.sh) from the repository
// root and checks the lines a reader of the README and the quickstart is told
// to expect: masked rows read through the gateway, the 42501 denials with
// their hints, the recorded sessions and a verified record. It has no
// non-test code; the test is skipped with -short.
package demotest
