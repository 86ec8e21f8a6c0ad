source "null" "n" { communicator = "none" }
build {
  sources = ["source.null.n"]
  error-cleanup-provisioner "shell-local" { inline = ["a"] }
  error-cleanup-provisioner "shell-local" { inline = ["b"] }
}
