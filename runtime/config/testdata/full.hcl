state_dir = "var/state"
log_level = "debug"

listen {
  api      = "127.0.0.1:8080"
  postgres = "127.0.0.1:15432"
  ssh      = "127.0.0.1:2222"
}

api {
  open_dry_run = true
}

tls {
  cert = "tls/gateway.crt"
  key  = "tls/gateway.key"
}

bundle {
  source            = "file://build/bundle.tar.gz"
  verification_keys = { k2026 = "keys/2026.pub", k2027 = "keys/2027.pub" }
  poll              = "30s"
  max_age           = "1h"
  allow_rollback    = true
  max_size          = "8MiB"
}

issuer "github" {
  url      = "https://token.actions.githubusercontent.com"
  audience = "mandate"
}

issuer "local" {
  url       = "https://mandate.local"
  jwks_file = "keys/local-issuer.jwks"
  audience  = "mandate"
}

store {
  postgres   = env("MANDATE_TEST_DSN")
  durability = "async"
  retention  = "30d"
  keep_raw_statements = true
}
