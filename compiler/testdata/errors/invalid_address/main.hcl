connection "db" {
  type     = "postgres"
  address  = "localhost" # ERROR: Invalid address
  database = "app"
  credential {
    username = "app"
    password = env("DB_PASSWORD")
  }
}
