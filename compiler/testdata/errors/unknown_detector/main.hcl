masking "pii" {
  detector "passport" { # ERROR: Unknown detector
    method = "redact"
  }
}
