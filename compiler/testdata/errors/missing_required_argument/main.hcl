connection "db" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "app"
  credential {
    username = "app"
    password = env("DB_PASSWORD")
  }
}
group "security" {
  members = ["alice@example.com"]
}
role "reader" {
  postgres "db" {
    statements = ["select"]
    tables     = ["public.orders"]
  }
  review { # ERROR: Missing required argument
    every     = "90d"
    reviewers = [group.security]
  }
}
agent "bot" {
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/bot:ref:refs/heads/main"
  }
  roles = [role.reader]
}
