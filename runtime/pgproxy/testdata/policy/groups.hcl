group "oncall" {
  members = ["oncall@example.com"]
}
