# A gateway running beside its database reaches it through PostgreSQL's
# Unix socket: the address is the path of the socket file, and TLS does not
# apply (the connection compiles to tls_mode "disable").
connection "local" {
  type     = "postgres"
  address  = "/var/run/postgresql/.s.PGSQL.5432"
  database = "app"
  credential {
    username = "mandate_gateway"
  }
}

# A tls block may still say so explicitly.
connection "local_explicit" {
  type     = "postgres"
  address  = "/run/pg/.s.PGSQL.6432"
  database = "app"
  credential {
    username = "mandate_gateway"
    password = env("PG_PASSWORD")
  }
  tls {
    mode = "disable"
  }
}

role "reader" {
  postgres "local" {
    statements = ["select"]
    tables     = ["public.*"]
  }
}

agent "nightly" {
  owner = "data-team"
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/etl:ref:refs/heads/main"
  }
  roles = [role.reader]
}
