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
    masking    = [masking.pii] # ERROR: Reference to undeclared masking
  }
}
agent "bot" {
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/bot:ref:refs/heads/main"
  }
  roles = [role.reader]
}
