# Connections: the upstream systems agents reach through the gateway.
# Credentials are references (env/file) the gateway resolves when it
# connects; no secret is ever written here or compiled into the bundle.

connection "orders_db" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "orders"
  credential {
    username = "mandate_orders"
    password = env("ORDERS_DB_PASSWORD")
  }
  tls {
    mode = "disable"
  }
}

connection "build_host" {
  type    = "ssh"
  address = "127.0.0.1:2022"
  credential {
    username    = "deploy"
    private_key = file("keys/deploy_ed25519")
  }
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrzeNbWXMk1ze83hBYmHE/SknMhZJXsq9BaBAIu1BbY"
}
