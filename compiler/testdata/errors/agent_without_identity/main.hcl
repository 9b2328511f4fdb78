connection "db" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "app"
  credential {
    username = "app"
    password = env("DB_PASSWORD")
  }
}
role "reader" {
  postgres "db" {
    statements = ["select"]
    tables     = ["public.orders"]
  }
}
agent "bot" { # ERROR: Agent without identity
  roles = [role.reader]
}
