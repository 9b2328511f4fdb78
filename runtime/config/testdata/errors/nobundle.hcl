listen { # ERROR: Missing bundle block
  api = "127.0.0.1:8080"
}
store {
  postgres = env("MANDATE_SURELY_UNSET_VARIABLE") # ERROR: Error in function call
}
