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

agent "idle-bot" {
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/idle:ref:refs/heads/main"
  }
  roles = [
    role.deployer,
    role.order_reader, # granted for the Q3 migration
  ]
}
