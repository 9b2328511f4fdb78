# Humans: who approves out-of-scope requests and who recertifies roles.

group "security" {
  members   = ["alice@acme.example", "bob@acme.example"]
  github    = ["alice-sec", "bobsec"]
  api_roles = ["auditor", "reviewer"]
}

group "platform_oncall" {
  claim     = { groups = "platform-oncall" }
  api_roles = ["approver"]
}

group "sre_leads" {
  members   = ["carol@acme.example", "dave@acme.example"]
  github    = ["carol-sre", "dave-ops"]
  api_roles = ["approver", "reviewer"]
}

group "data_owners" {
  members   = ["erin@acme.example"]
  github    = ["erin-data"]
  api_roles = ["approver", "reviewer"]
}

group "finance_controllers" {
  members   = ["frank@acme.example", "grace@acme.example"]
  api_roles = ["approver", "reviewer"]
}

group "auditors" {
  claim     = { groups = "internal-audit" }
  api_roles = ["auditor"]
}
