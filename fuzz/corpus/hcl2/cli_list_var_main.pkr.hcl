variable "regions" {
  type    = list(string)
  default = []
}
variable "n" {
  type = number
  default = 1
}
source "null" "n" {
  r = var.regions
  n = var.n
}
build { sources = ["source.null.n"] }
