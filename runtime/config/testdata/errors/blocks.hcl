log_level = "loud" # ERROR: Invalid log level

listen {
  api = "8080" # ERROR: Invalid listen address
}

listen { # ERROR: Duplicate listen block
}

bundle {
  source            = "ftp://example.com/b.tar.gz" # ERROR: Invalid bundle source
  verification_key  = "keys/a.pub"
  verification_keys = { a = "keys/a.pub" } # ERROR: Conflicting verification keys
  poll              = "10 seconds" # ERROR: Invalid duration
  max_size          = "64 parsecs" # ERROR: Invalid size
  allow_rollback    = "maybe" # ERROR: Incorrect attribute value type
}

issuer "a" {
  url      = "token.example.com" # ERROR: Invalid issuer URL
  audience = "" # ERROR: Empty audience
}

issuer "a" { # ERROR: Duplicate issuer
  url      = "https://a.example.com"
  audience = "x"
}

store { # ERROR: Store needs exactly one backend
  durability = "sometimes" # ERROR: Invalid durability
  retention  = "1h" # ERROR: Retention too short
}

colour = "blue" # ERROR: Unsupported argument
