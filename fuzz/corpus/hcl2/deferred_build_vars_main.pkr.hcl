source "null" "n" { communicator = "none" }
build {
  name    = "b"
  sources = ["source.null.n"]
  provisioner "shell-local" {
    inline = ["echo ${build.ID} ${build.Host}:${build.Port} ${build.name} ${packer.version}"]
  }
  post-processor "shell-local" {
    inline = ["echo ${build.PackerRunUUID}"]
  }
}
