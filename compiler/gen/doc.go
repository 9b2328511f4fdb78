// Package gen writes synthetic policy repositories of a given size, for
// benchmarks of the compiler and of everything that consumes its bundles.
// The output is deterministic and validates without errors.
package gen
