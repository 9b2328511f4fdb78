# Column rules only (no detectors): the column rules alone must keep every
# secret from the client.
masking "pii" {
  hash_key = env("ADV_HASH_KEY")

  column "public.PREFIX_cust.ssn" {
    method = "redact"
  }
  column "public.PREFIX_cust.email" {
    method = "email"
  }
  column "public.PREFIX_cust.card" {
    method = "hash"
  }
  column "public.PREFIX_cust.salary" {
    method = "redact"
  }
  column "public.PREFIX_part.ssn" {
    method = "redact"
  }
  column "public.PREFIX_inh.ssn" {
    method = "redact"
  }
}
