connection "db" {
  type     = "mysql" # ERROR: Unsupported connection type
  address  = "127.0.0.1:5432"
  database = "app"
  credential {
    username = "app"
    password = env("DB_PASSWORD")
  }
}
