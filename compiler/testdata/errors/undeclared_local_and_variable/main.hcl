variable "team" {
  default = "orders"
}
locals {
  owner = "${var.team}-${var.tier}" # ERROR: Reference to undeclared variable
  other = local.nothing # ERROR: Reference to undeclared local value
}
