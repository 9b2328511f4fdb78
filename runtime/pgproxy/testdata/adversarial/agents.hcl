agent "reader" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "reader"
  }
  roles = [role.reader]
}

agent "fnreader" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "fnreader"
  }
  roles = [role.fnreader]
}

agent "loader" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "loader"
  }
  roles = [role.loader]
}

agent "ddler" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "ddler"
  }
  roles = [role.ddler]
}

agent "scratcher" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "scratcher"
  }
  roles = [role.reader, role.scratch]
}
