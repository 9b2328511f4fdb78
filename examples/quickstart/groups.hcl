# Groups of humans: reviewers and approvers.

group "security" {
  members = ["alice@example.com"]
}

group "oncall" {
  claim = { groups = "oncall" }
}
