role "reader" {
  description = "Reads orders and customers"

  postgres "shop" {
    statements = ["select"]
    tables     = ["public.PREFIX_orders", "public.PREFIX_customers", "public.PREFIX_customers_v"]
    masking    = [masking.pii]
  }

  approval {
    requestable {
      postgres "shop" {
        statements = ["update"]
        tables     = ["public.PREFIX_orders"]
      }
    }
    approvers     = [group.oncall]
    min_approvals = 1
    max_ttl       = "1h"
  }
}

role "writer" {
  postgres "shop" {
    statements = ["select", "insert", "update", "delete"]
    tables     = ["public.PREFIX_orders"]
  }
}
