agent "bot" { # ERROR: Duplicate agent
  identity {
    issuer  = "https://token.actions.githubusercontent.com"
    subject = "x"
  }
  roles = [role.reader]
}
