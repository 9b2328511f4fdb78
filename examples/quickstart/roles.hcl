# Roles bundle grants on connections, with approvals for out-of-scope work
# and a review cadence.

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
