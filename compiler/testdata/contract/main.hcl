connection "orders_db" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "orders"
  credential {
    username = "mandate_orders"
    password = env("ORDERS_DB_PASSWORD")
  }
  tls {
    mode = "disable"
  }
}

connection "build_host" {
  type    = "ssh"
  address = "127.0.0.1:2022"
  credential {
    username    = "deploy"
    private_key = file("keys/deploy_ed25519")
  }
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrzeNbWXMk1ze83hBYmHE/SknMhZJXsq9BaBAIu1BbY"
}

masking "pii" {
  column "public.customers.email" {
    method = "partial"
  }
  column "public.customers.ssn" {
    method = "redact"
  }
  detector "credit_card" {
    method = "redact"
  }
}

group "security" {
  members = ["alice@example.com"]
}

group "oncall" {
  claim = { groups = "oncall" }
}

role "order_reader" {
  description = "Reads order status for the fulfilment planner"

  postgres "orders_db" {
    statements = ["select"]
    tables     = ["public.orders", "public.order_items", "public.customers"]
    masking    = [masking.pii]
  }

  approval {
    requestable {
      postgres "orders_db" {
        statements = ["update"]
        tables     = ["public.orders"]
      }
    }
    approvers     = [group.oncall]
    min_approvals = 1
    max_ttl       = "1h"
  }

  review {
    every         = "90d"
    reviewers     = [group.security]
    last_reviewed = "2026-10-01"
    unused_after  = "30d"
    on_overdue    = "require_approval"
  }
}

role "deployer" {
  ssh "build_host" {
    commands = ["systemctl status app", "journalctl -u app -n *"]
  }
}

agent "fulfilment-planner" {
  owner = "team-fulfilment"
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/fulfilment:ref:refs/heads/main"
  }
  roles = [role.order_reader]
}
