connection "verify" {
  type     = "postgres"
  address  = "/var/run/postgresql/.s.PGSQL.5432"
  database = "app"
  credential {
    username = "app"
  }
  tls { # ERROR: TLS over a Unix socket
    mode = "verify-full"
  }
}

connection "ca" {
  type     = "postgres"
  address  = "/var/run/postgresql/.s.PGSQL.5432"
  database = "app"
  credential {
    username = "app"
  }
  tls { # ERROR: TLS over a Unix socket
    mode = "disable"
    ca   = file("ca.pem")
  }
}
