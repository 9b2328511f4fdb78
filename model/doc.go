// Package model is the compiled form of a policy repository: the data a signed
// bundle carries under data.mandate, produced by the compiler and consumed by
// the gateway and the review bot. It is the only code those parts share.
//
// Main types: Policy (the whole compiled model), Connection, Masking, Group,
// Role (with PostgresGrant and SSHGrant), Agent, and Input/Decision, the
// contract between the gateway and the Rego library in policies/.
package model
