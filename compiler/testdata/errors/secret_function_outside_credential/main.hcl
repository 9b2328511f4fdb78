locals {
  a = env("HOME") # ERROR: Error in function call
}
