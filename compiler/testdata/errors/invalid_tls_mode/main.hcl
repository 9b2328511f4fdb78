connection "db" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "app"
  tls {
    mode = "prefer" # ERROR: Invalid TLS mode
  }
  credential {
    username = "app"
    password = env("DB_PASSWORD")
  }
}
