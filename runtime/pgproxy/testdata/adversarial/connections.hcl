# The test database; PREFIX is replaced by the test's unique table prefix.
connection "adv" {
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "test"
  credential {
    username = "postgres"
  }
  tls {
    mode = "require"
  }
}
