# Shared values. Variables are named constants with a default; locals derive
# values from them.

variable "github_issuer" {
  description = "GitHub Actions' OIDC issuer: every CI agent authenticates with it."
  default     = "https://token.actions.githubusercontent.com"
}

variable "k8s_issuer" {
  description = "The production cluster's service-account token issuer."
  default     = "https://oidc.prod.acme.internal"
}

locals {
  # Subjects of GitHub Actions workflows on the main branch of an acme repo.
  main_branch = "ref:refs/heads/main"

  order_tables   = ["public.orders", "public.order_items", "public.shipments"]
  catalog_tables = ["catalog.products", "catalog.prices", "catalog.categories"]
  billing_tables = ["billing.invoices", "billing.payments", "billing.refunds"]

  # Everyone who may approve production changes.
  prod_approvers = [group.platform_oncall, group.sre_leads]
}
