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

connection "sales_db" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "sales"
  credential {
    username = "mandate_sales"
    password = env("SALES_DB_PASSWORD")
  }
}

connection "audit_db" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "audit"
  credential {
    username = "mandate_audit"
    password = env("AUDIT_DB_PASSWORD")
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

masking "pii" {
  column "public.customers.email" {
    method = "partial"
  }
}

group "security" {
  members = ["alice@example.com"]
  github  = ["alice-gh", "acme/security"]
}
