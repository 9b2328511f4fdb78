# Agents: automated identities matched from OIDC tokens, and their roles.

agent "fulfilment-planner" {
  owner = "team-fulfilment"
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/fulfilment:ref:refs/heads/main"
  }
  roles = [role.order_reader]
}

agent "release-bot" {
  owner = "team-platform"
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "repo:acme/app:environment:production"
  }
  roles = [role.deployer]
}
