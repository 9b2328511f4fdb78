locals {
  a = local.b
  b = local.a # ERROR: Cyclic local value
}
locals {
  c = local.a
}
