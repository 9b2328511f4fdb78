# Roles of the fulfilment team. Reviewed quarterly.

locals {
  audit_tables = ["audit.events"]
}

role "order_reader" {
  description   =    "Reads order status for the fulfilment planner" # not formatted on purpose

  # Reads orders; written by the platform team.
  postgres "orders_db" {
    statements = ["select", "update", "delete"] # update for the backfill
    tables = [
      "public.orders",      # the main table
      "public.order_items", # lines
      # customers are masked
      "public.customers",
    ]
    masking = [masking.pii]
  }

  ssh "build_host" {
    commands = ["systemctl status app", "journalctl -u app -n *", "uptime"]
  }

  review {
    every         = "90d"
    reviewers     = [group.security]
    last_reviewed = "2026-07-01" # set by the review bot
    unused_after  = "30d"
    on_overdue    = "require_approval"
  }
}

# The planner runs in GitHub Actions.
agent "fulfilment-planner" {
  owner = "team-fulfilment"
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/fulfilment:ref:refs/heads/main"
  }
  roles = [role.order_reader, role.deployer]
}

# Retired in October, kept until the review.
agent "legacy-batch" {
  owner = "team-fulfilment"
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/batch:ref:refs/heads/main"
  }
  roles = [role.order_reader]
}
