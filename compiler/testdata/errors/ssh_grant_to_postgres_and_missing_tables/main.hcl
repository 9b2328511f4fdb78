connection "db" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "app"
  credential {
    username = "app"
    password = env("DB_PASSWORD")
  }
}
connection "host" {
  type    = "ssh"
  address = "127.0.0.1:22"
  credential {
    username    = "deploy"
    private_key = file("keys/deploy")
  }
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrzeNbWXMk1ze83hBYmHE/SknMhZJXsq9BaBAIu1BbY"
}
role "ops" {
  postgres "host" { # ERROR: Grant to a connection of the wrong type
    statements = ["select"]
    tables     = ["public.orders"]
  }
  postgres "db" { # ERROR: Missing tables
    statements = ["select"]
  }
}
agent "bot" {
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/bot:ref:refs/heads/main"
  }
  roles = [role.ops]
}
