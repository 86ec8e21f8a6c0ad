source "file" "example" {
  content = "ubuntu"
  target  = "dummy_artifact"
}

build {
  sources = ["source.file.example"]
}
