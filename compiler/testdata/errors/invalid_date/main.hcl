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
  review {
    every         = "90d"
    reviewers     = [group.security]
    last_reviewed = "01/10/2026" # ERROR: Invalid date
    on_overdue    = "panic" # ERROR: Invalid on_overdue
  }
}
agent "bot" {
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/bot:ref:refs/heads/main"
  }
  roles = [role.reader]
}
