# Roles of the platform team: analytics loads, deploys and batch jobs.

role "analytics_loader" {
  description = "Bulk-loads nightly extracts into the warehouse."
  postgres "analytics_dw" {
    statements = ["copy_in", "insert", "select"]
    tables     = ["staging.*", "marts.*"]
  }
  postgres "orders_db" {
    statements = ["copy_out"]
    tables     = local.order_tables
  }
}

role "analytics_reader" {
  description = "Reads marts for dashboards and the forecasting agent."
  postgres "analytics_dw" {
    statements = ["select"]
    tables     = ["marts.*"]
    functions  = ["marts.weekly_revenue"]
  }
}

role "schema_migrator" {
  description = "Runs reviewed migrations; DDL needs an approval each time."
  postgres "orders_db" {
    statements = ["select"]
    tables     = ["public.schema_migrations"]
  }
  approval {
    requestable {
      postgres "orders_db" {
        statements = ["ddl", "insert"]
        tables     = ["public.*"]
      }
      postgres "catalog_db" {
        statements = ["ddl"]
        tables     = ["catalog.*"]
      }
    }
    approvers     = local.prod_approvers
    min_approvals = 1
    max_ttl       = "45m"
  }
  review {
    every         = "90d"
    reviewers     = [group.sre_leads]
    last_reviewed = "2026-11-01"
  }
}

role "web_deployer" {
  description = "Restarts and inspects the web tier during deploys."
  ssh "web_hosts" {
    commands = [
      "systemctl status web",
      "systemctl restart web",
      "journalctl -u web -n *",
    ]
  }
  review {
    every         = "90d"
    reviewers     = [group.sre_leads]
    last_reviewed = "2026-10-05"
  }
}

role "web_debugger" {
  description = "Read-only inspection; an interactive shell needs an approval."
  ssh "web_hosts" {
    commands = ["df -h", "uptime", "free -m"]
  }
  approval {
    requestable {
      ssh "web_hosts" {
        interactive = true
      }
    }
    approvers     = [group.platform_oncall]
    min_approvals = 1
    max_ttl       = "1h"
  }
}

role "batch_operator" {
  description = "Runs the nightly batch jobs."
  max_session = "4h"
  ssh "batch_host" {
    commands = ["/opt/batch/bin/run *", "/opt/batch/bin/status"]
  }
}
