// Package gatewaytest builds real signed bundles for the gateway's tests:
// a Signer holds a fresh ES256 key pair and builds bundles with
// compiler/bundle exactly as `mandate compile` does, and helpers derive the
// bad bundles activation must reject (unsigned, tampered, wrong key,
// truncated).
package gatewaytest
