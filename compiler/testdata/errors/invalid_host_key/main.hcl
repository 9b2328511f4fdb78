connection "host" {
  type    = "ssh"
  address = "127.0.0.1:22"
  credential {
    username    = "deploy"
    private_key = file("keys/deploy")
  }
  host_key = "ssh-ed25519 not-base64" # ERROR: Invalid host key
}
