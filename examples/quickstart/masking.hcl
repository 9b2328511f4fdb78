# Masking rules applied to query results of the grants that name them.

masking "pii" {
  column "public.customers.email" {
    method = "partial"
  }
  column "public.customers.ssn" {
    method = "redact"
  }
  detector "credit_card" {
    method = "redact"
  }
}
