database "x" { # ERROR: Unsupported block type
}
