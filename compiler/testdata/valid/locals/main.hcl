variable "issuer" {
  description = "The CI issuer"
  default     = "https://token.actions.githubusercontent.com"
}

locals {
  repo_prefix = "repo:acme"
  readers     = [role.reader]
  all_tables  = concat(local.order_tables, ["public.customers"])
  # Order does not matter between locals.
  order_tables = [for t in ["orders", "order_items"] : "public.${t}"]
  claims       = merge({ team = "data" }, { env = "prod" })
}

connection "db" {
  type     = "postgres"
  address  = "db.internal:5432"
  database = "app"
  credential {
    username = "app"
    password = env("DB_PASSWORD")
  }
  tls {
    mode = "verify-full"
    ca   = file("ca/db.pem")
  }
}

masking "pii" {
  hash_key = env("MASK_KEY")
  column "public.customers.*" {
    method       = "hash"
    allow_filter = true
  }
  detector "ticket" {
    pattern = "TICKET-[0-9]+"
    method  = "redact"
  }
}

group "data" {
  claim     = local.claims
  github    = ["octocat", "hubot"]
  api_roles = ["auditor", "approver"]
}

role "reader" {
  max_session = "1h30m"
  postgres "db" {
    statements = ["select", "copy_out"]
    tables     = local.all_tables
    functions  = ["lower", "pg_catalog.now"]
    masking    = [masking.pii]
  }
}

agent "etl" {
  owner = "team-data"
  identity {
    issuer  = var.issuer
    subject = "${local.repo_prefix}/etl:ref:refs/heads/main"
  }
  identity {
    issuer = "https://issuer.example.com"
    claims = { sub = "etl", aud = "mandate" }
  }
  roles = local.readers
}
