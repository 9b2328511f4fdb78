connection "dir" {
  type     = "postgres"
  address  = "/var/run/postgresql" # ERROR: Invalid address
  database = "app"
  credential {
    username = "app"
  }
}

connection "port" {
  type     = "postgres"
  address  = "/var/run/postgresql/.s.PGSQL.99999" # ERROR: Invalid address
  database = "app"
  credential {
    username = "app"
  }
}

connection "box" {
  type     = "ssh"
  address  = "/run/ssh/.s.PGSQL.22" # ERROR: Invalid address
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrzeNbWXMk1ze83hBYmHE/SknMhZJXsq9BaBAIu1BbY"
  credential {
    username   = "deploy"
    private_key = file("keys/deploy")
  }
}
