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
  approval {
    requestable {
      postgres "db" {
        statements = ["update"]
        tables     = ["public.orders"]
      }
    }
    approvers     = [group.security]
    min_approvals = 0 # ERROR: Invalid min_approvals
    max_ttl       = "1h"
  }
}
agent "bot" {
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/bot:ref:refs/heads/main"
  }
  roles = [role.reader]
}
