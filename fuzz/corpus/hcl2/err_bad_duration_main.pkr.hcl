source "null" "n" { communicator = "none" }
build {
  sources = ["source.null.n"]
  provisioner "shell-local" {
    pause_before = "ten seconds"
    inline = ["true"]
  }
}
