# Roles on billing. Everything here is reviewed by finance.

role "billing_reader" {
  description = "Reads invoices and payments for revenue reports."
  postgres "billing_db" {
    statements = ["select"]
    tables     = local.billing_tables
    masking    = [masking.payment_data]
  }
  review {
    every         = "90d"
    reviewers     = [group.finance_controllers]
    last_reviewed = "2026-11-02"
    unused_after  = "60d"
    on_overdue    = "deny"
  }
}

role "billing_reconciler" {
  description = "Matches payments to invoices; refunds need two controllers."
  postgres "billing_db" {
    statements = ["select", "update"]
    tables     = ["billing.invoices", "billing.payments"]
    masking    = [masking.payment_data]
  }
  approval {
    requestable {
      postgres "billing_db" {
        statements = ["insert", "update"]
        tables     = ["billing.refunds"]
      }
    }
    approvers     = [group.finance_controllers]
    min_approvals = 2
    max_ttl       = "30m"
  }
  review {
    every         = "90d"
    reviewers     = [group.finance_controllers, group.security]
    last_reviewed = "2026-10-20"
    on_overdue    = "require_approval"
  }
}
