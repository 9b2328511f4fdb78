# Roles of the fulfilment team. Reviewed quarterly.

locals {
  audit_tables = ["audit.events"]
}

role "order_reader" {
  description   =    "Reads order status for the fulfilment planner" # not formatted on purpose

  # Reads orders; written by the platform team.
  postgres "orders_db" {
    statements = ["select"] # update for the backfill
    tables = [
      "public.orders",      # the main table
      # customers are masked
      "public.customers",
    ]
    masking = [masking.pii]
  }

  postgres "sales_db" {
    statements = ["select", "insert"]
    tables     = ["sales.invoices", "sales.orders"]
  }

  ssh "build_host" {
    commands = ["systemctl status app", "journalctl -u app -n *"]
  }

  review {
    every         = "90d"
    reviewers     = [group.security]
    last_reviewed = "2026-11-26" # set by the review bot
    unused_after  = "30d"
    on_overdue    = "require_approval"
  }
}


role "deployer" {
  ssh "build_host" {
    commands = ["systemctl restart app"]
  }
}
