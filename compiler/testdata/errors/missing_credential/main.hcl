connection "db" { # ERROR: Missing credential block
  type     = "postgres"
  address  = "127.0.0.1:5432"
  database = "app"
}
