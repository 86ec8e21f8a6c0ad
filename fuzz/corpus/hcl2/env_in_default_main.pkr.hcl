variable "home" {
  default = env("MY_HOME")
}
source "null" "n" { h = var.home }
build { sources = ["source.null.n"] }
