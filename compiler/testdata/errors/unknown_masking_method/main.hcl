masking "pii" {
  column "public.customers.email" {
    method = "scramble" # ERROR: Unknown masking method
  }
}
