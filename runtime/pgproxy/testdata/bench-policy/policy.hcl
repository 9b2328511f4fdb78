# Policy for bench/pgbench.sh: pgbench -S through the gateway, with a
# masking rule active on the column pgbench -S reads.
connection "bench" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "DATABASE"
  credential {
    username = "postgres"
  }
  tls {
    mode = "disable"
  }
}

masking "balances" {
  column "public.pgbench_accounts.abalance" {
    method = "null"
  }
  detector "credit_card" {
    method = "redact"
  }
}

role "bench_reader" {
  postgres "bench" {
    statements = ["select", "insert", "update"]
    tables     = ["public.pgbench_accounts", "public.pgbench_branches", "public.pgbench_tellers", "public.pgbench_history"]
    masking    = [masking.balances]
  }
}

agent "bench" {
  owner = "bench"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "bench"
  }
  roles = [role.bench_reader]
}
