bundle { # ERROR: Missing verification key
  source  = "http://bundles.example.com/b.tar.gz" # ERROR: Invalid bundle source
  poll    = "1m"
  max_age = "30s" # ERROR: max_age shorter than poll
}
