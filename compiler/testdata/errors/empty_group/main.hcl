group "security" { # ERROR: Empty group
}
