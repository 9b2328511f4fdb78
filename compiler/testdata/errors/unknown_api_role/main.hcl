group "security" {
  members   = ["a@example.com"]
  api_roles = ["auditor", "root"] # ERROR: Unknown API role
}
