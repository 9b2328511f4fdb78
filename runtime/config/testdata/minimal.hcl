bundle {
  source           = "https://bundles.example.com/acme/bundle.tar.gz"
  verification_key = "keys/bundle.pub"
}
