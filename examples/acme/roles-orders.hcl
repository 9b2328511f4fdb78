# Roles of the fulfilment and support teams on the orders database.

role "order_reader" {
  description = "Reads orders and shipments; customer data is masked."

  postgres "orders_db" {
    statements = ["select"]
    tables     = concat(local.order_tables, ["public.customers"])
    masking    = [masking.customer_pii]
  }

  approval {
    requestable {
      postgres "orders_db" {
        statements = ["update"]
        tables     = ["public.orders", "public.shipments"]
      }
    }
    approvers     = local.prod_approvers
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

role "order_writer" {
  description = "Creates and updates orders for the checkout service's back-office jobs."
  max_session = "30m"

  postgres "orders_db" {
    statements = ["select", "insert", "update"]
    tables     = local.order_tables
    functions  = ["public.next_order_number"]
  }

  review {
    every         = "90d"
    reviewers     = [group.security, group.sre_leads]
    last_reviewed = "2026-09-15"
    grace         = "14d"
    on_overdue    = "deny"
  }
}

role "support_lookup" {
  description = "Lets the support assistant look up a customer's orders."

  postgres "orders_db" {
    statements = ["select"]
    tables     = ["public.orders", "public.customers"]
    masking    = [masking.customer_pii, masking.secrets_in_text]
  }

  review {
    every         = "30d"
    reviewers     = [group.security]
    last_reviewed = "2026-11-10"
    on_overdue    = "warn"
  }
}

role "order_archiver" {
  description = "Moves delivered orders older than a year to the archive schema."

  postgres "orders_db" {
    statements = ["select", "insert", "delete"]
    tables     = ["public.orders", "public.order_items", "archive.*"]
  }
}
