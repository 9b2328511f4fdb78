role "reader" { # ERROR: Duplicate role
}
