masking "pii" {
  detector "ticket" {
    pattern = "TICKET-(\\d+" # ERROR: Invalid detector pattern
    method  = "redact"
  }
}
