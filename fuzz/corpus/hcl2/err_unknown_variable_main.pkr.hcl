variable "image_name" { default = "x" }
source "null" "n" {
  name = var.image_nme
}
build { sources = ["source.null.n"] }
