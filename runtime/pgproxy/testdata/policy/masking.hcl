masking "pii" {
  column "public.PREFIX_customers.ssn" {
    method = "redact"
  }
  column "public.PREFIX_customers.email" {
    method       = "partial"
    allow_filter = true
  }
  detector "credit_card" {
    method = "redact"
  }
}
