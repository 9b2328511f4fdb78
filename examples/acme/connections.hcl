# Upstream systems. Passwords and keys are references resolved by the
# gateway host; none of them is stored in this repository.

connection "orders_db" {
  type     = "postgres"
  address  = "orders-db.prod.acme.internal:5432"
  database = "orders"
  credential {
    username = "mandate_orders"
    password = env("ORDERS_DB_PASSWORD")
  }
  tls {
    mode = "verify-full"
    ca   = file("/etc/mandate/ca/acme-db.pem")
  }
}

connection "catalog_db" {
  type     = "postgres"
  address  = "catalog-db.prod.acme.internal:5432"
  database = "catalog"
  credential {
    username = "mandate_catalog"
    password = env("CATALOG_DB_PASSWORD")
  }
  tls {
    mode = "verify-full"
    ca   = file("/etc/mandate/ca/acme-db.pem")
  }
}

connection "billing_db" {
  type     = "postgres"
  address  = "billing-db.prod.acme.internal:5432"
  database = "billing"
  credential {
    username = "mandate_billing"
    password = file("/run/secrets/billing_db_password")
  }
  tls {
    mode = "verify-ca"
    ca   = file("/etc/mandate/ca/acme-db.pem")
  }
}

connection "analytics_dw" {
  type     = "postgres"
  address  = "dw.analytics.acme.internal:5432"
  database = "warehouse"
  credential {
    username = "mandate_dw"
    password = env("DW_PASSWORD")
  }
  tls {
    mode = "require"
  }
}

connection "web_hosts" {
  type    = "ssh"
  address = "bastion.prod.acme.internal:22"
  credential {
    username    = "deploy"
    private_key = file("/etc/mandate/keys/deploy_ed25519")
  }
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrzeNbWXMk1ze83hBYmHE/SknMhZJXsq9BaBAIu1BbY"
}

connection "batch_host" {
  type    = "ssh"
  address = "batch-01.prod.acme.internal:22"
  credential {
    username    = "batch"
    private_key = env("BATCH_SSH_KEY_PATH")
  }
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrzeNbWXMk1ze83hBYmHE/SknMhZJXsq9BaBAIu1BbY"
}
