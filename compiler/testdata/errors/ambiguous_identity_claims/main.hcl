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
agent "one" {
  identity {
    issuer = "https://issuer.example.com"
    claims = { team = "a" }
  }
  roles = [role.reader]
}
agent "two" {
  identity { # ERROR: Ambiguous agent identity
    issuer = "https://issuer.example.com"
    subject = "svc"
  }
  roles = [role.reader]
}
agent "three" {
  identity {
    issuer = "https://issuer.example.com"
    subject = "other"
    claims = { team = "b" }
  }
  roles = [role.reader]
}
