variable "greeting" {
  type    = string
  default = "from-default"
}
source "file" "f" {
  content = var.greeting
}
build { sources = ["source.file.f"] }
