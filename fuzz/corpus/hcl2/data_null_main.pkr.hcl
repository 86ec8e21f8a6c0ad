data "null" "base" {
  input = "ubuntu-${var.release}"
}
data "null" "derived" {
  input = upper(data.null.base.output)
}
variable "release" { default = "22.04" }
locals { image = data.null.derived.output }
source "null" "n" { image = local.image }
build { sources = ["source.null.n"] }
