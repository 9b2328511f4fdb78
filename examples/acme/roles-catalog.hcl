# Roles on the product catalog.

role "catalog_reader" {
  description = "Reads the product catalog."
  postgres "catalog_db" {
    statements = ["select"]
    tables     = ["catalog.*"]
  }
}

role "catalog_editor" {
  description = "Updates prices and product descriptions from the merchandising pipeline."
  postgres "catalog_db" {
    statements = ["select", "insert", "update"]
    tables     = local.catalog_tables
  }
  approval {
    requestable {
      postgres "catalog_db" {
        statements = ["delete"]
        tables     = ["catalog.products"]
      }
    }
    approvers     = [group.data_owners]
    min_approvals = 1
    max_ttl       = "2h"
  }
  review {
    every         = "180d"
    reviewers     = [group.data_owners]
    last_reviewed = "2026-07-01"
  }
}
