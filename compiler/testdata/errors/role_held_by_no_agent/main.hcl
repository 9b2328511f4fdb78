connection "db" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "app"
  credential {
    username = "app"
    password = env("DB_PASSWORD")
  }
}
role "reader" { # WARNING: Role held by no agent
  postgres "db" {
    statements = ["select"]
    tables     = ["public.orders"]
  }
}
