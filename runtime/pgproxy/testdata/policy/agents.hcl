agent "planner" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "planner"
  }
  roles = [role.reader]
}

agent "clerk" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "clerk"
  }
  roles = [role.writer]
}
