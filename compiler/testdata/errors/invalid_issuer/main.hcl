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
agent "bot" {
  identity {
    issuer  = "token.actions" # ERROR: Invalid issuer
    subject = "repo:acme/bot:ref:refs/heads/main"
  }
  roles = [role.reader]
}
