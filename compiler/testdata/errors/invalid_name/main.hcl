group "sec urity" { # ERROR: Invalid name
  members = ["a@example.com"]
}
