# Agents: every automated identity and the roles it holds. CI agents are
# GitHub Actions workflows on main; in-cluster agents use service accounts.

agent "checkout-backoffice" {
  owner = "team-checkout"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/checkout:${local.main_branch}"
  }
  roles = [role.order_writer]
}

agent "fulfilment-planner" {
  owner = "team-fulfilment"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/fulfilment:${local.main_branch}"
  }
  roles = [role.order_reader]
}

agent "shipment-tracker" {
  owner = "team-fulfilment"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/shipments:${local.main_branch}"
  }
  roles = [role.order_reader]
}

agent "support-assistant" {
  owner = "team-support"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:support:assistant"
  }
  roles = [role.support_lookup]
}

agent "order-archiver" {
  owner = "team-fulfilment"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:jobs:order-archiver"
  }
  roles = [role.order_archiver]
}

agent "catalog-sync" {
  owner = "team-merch"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/catalog-sync:${local.main_branch}"
  }
  roles = [role.catalog_editor]
}

agent "pricing-agent" {
  owner = "team-merch"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:merch:pricing-agent"
  }
  roles = [role.catalog_reader, role.analytics_reader]
}

agent "search-indexer" {
  owner = "team-search"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:search:indexer"
  }
  roles = [role.catalog_reader]
}

agent "recommendations" {
  owner = "team-search"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/recommendations:${local.main_branch}"
  }
  roles = [role.catalog_reader, role.analytics_reader]
}

agent "revenue-report" {
  owner = "team-finance"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/revenue-report:${local.main_branch}"
  }
  roles = [role.billing_reader]
}

agent "payment-reconciler" {
  owner = "team-finance"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:finance:reconciler"
  }
  roles = [role.billing_reconciler]
}

agent "dunning-bot" {
  owner = "team-finance"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:finance:dunning"
  }
  roles = [role.billing_reader]
}

agent "nightly-extract" {
  owner = "team-data"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/dw-extract:${local.main_branch}"
  }
  roles = [role.analytics_loader]
}

agent "forecaster" {
  owner = "team-data"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:data:forecaster"
  }
  roles = [role.analytics_reader]
}

agent "dashboard-refresh" {
  owner = "team-data"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/dashboards:${local.main_branch}"
  }
  roles = [role.analytics_reader]
}

agent "migrations-orders" {
  owner = "team-platform"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/orders-migrations:${local.main_branch}"
  }
  roles = [role.schema_migrator]
}

agent "migrations-catalog" {
  owner = "team-platform"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/catalog-migrations:${local.main_branch}"
  }
  roles = [role.schema_migrator]
}

agent "web-deploy" {
  owner = "team-platform"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/web:${local.main_branch}"
  }
  # Deploys also run from the release branch.
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/web:ref:refs/heads/release"
  }
  roles = [role.web_deployer]
}

agent "incident-helper" {
  owner = "team-platform"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:sre:incident-helper"
  }
  roles = [role.web_debugger, role.order_reader]
}

agent "batch-runner" {
  owner = "team-platform"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:jobs:batch-runner"
  }
  roles = [role.batch_operator]
}

agent "capacity-planner" {
  owner = "team-platform"
  identity {
    issuer  = var.github_issuer
    subject = "repo:acme/capacity:${local.main_branch}"
  }
  roles = [role.analytics_reader, role.web_debugger]
}

agent "fraud-screen" {
  owner = "team-risk"
  identity {
    issuer  = var.k8s_issuer
    subject = "system:serviceaccount:risk:fraud-screen"
  }
  roles = [role.order_reader, role.billing_reader]
}
