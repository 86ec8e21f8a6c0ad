source "null" "n1" { communicator = "none" }
source "file" "f1" { content = "x" }
build {
  name    = "mybuild"
  sources = ["source.null.n1", "source.file.f1"]
  post-processor "manifest" { name = "man" }
  post-processor "checksum" {}
}
