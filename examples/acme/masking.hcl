# Masking rules. Grants name them; the gateway applies them to result rows.

masking "customer_pii" {
  # Hashing is keyed so that equal values still join, without revealing them.
  hash_key = env("MASKING_HASH_KEY")

  column "public.customers.email" {
    method = "email"
  }
  column "public.customers.phone" {
    method = "partial"
  }
  column "public.customers.ssn" {
    method = "redact"
  }
  column "public.customers.id" {
    method       = "hash"
    allow_filter = true
  }
  detector "email" {
    method = "partial"
  }
  detector "us_ssn" {
    method = "redact"
  }
}

masking "payment_data" {
  column "billing.payments.card_number" {
    method = "partial"
  }
  column "billing.payments.iban" {
    method = "redact"
  }
  detector "credit_card" {
    method = "redact"
  }
  detector "iban" {
    method = "redact"
  }
}

masking "secrets_in_text" {
  detector "api_key" {
    method = "redact"
  }
  # Internal service tokens look like acme_tok_<32 hex digits>.
  detector "acme_token" {
    pattern = "acme_tok_[0-9a-f]{32}"
    method  = "redact"
  }
}
