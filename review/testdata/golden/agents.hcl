# The planner runs in GitHub Actions.
agent "fulfilment-planner" {
  owner = "team-fulfilment"
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/fulfilment:ref:refs/heads/main"
  }
  roles = [role.order_reader, role.deployer]
}

agent "idle-bot" {
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/idle:ref:refs/heads/main"
  }
  roles = [
    role.deployer,
  ]
}
