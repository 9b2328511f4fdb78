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
    tables = [
      "public.orders",
      "orders", # ERROR: Invalid table pattern
      "a.b.c", # ERROR: Invalid table pattern
    ]
  }
}
agent "bot" {
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/bot:ref:refs/heads/main"
  }
  roles = [role.reader]
}
