locals {
  a = explode("x") # ERROR: Call to unknown function
}
