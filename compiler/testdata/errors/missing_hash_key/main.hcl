masking "pii" {
  column "public.customers.email" {
    method = "hash" # ERROR: Missing hash key
  }
}
