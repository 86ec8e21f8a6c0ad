packer {
  required_version = ">= 1.7.0"
}
source "null" "n" { communicator = "none" }
build { sources = ["source.null.n"] }
