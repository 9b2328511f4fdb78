group "security" {
  members = ["a@example.com"
} # ERROR: Missing item separator
