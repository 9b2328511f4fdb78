// Package masking finds sensitive values in text (Detector: credit_card,
// email, us_ssn, iban, api_key and custom RE2 patterns) and masks values with
// a Method (redact, partial, hash, null, email). A Scanner combines detector
// rules and rewrites a whole value, with a fast path for values that hold
// nothing to mask. Both the compiler (to validate names) and the gateway (to
// mask results and recorded statements) use it; it imports only model.
package masking
