masking "pii" {
  column "customers.email" { # ERROR: Invalid column name
    method = "redact"
  }
}
