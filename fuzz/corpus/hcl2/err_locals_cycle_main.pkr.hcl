locals {
  first  = local.second
  second = local.first
  fine   = "ok"
}
source "null" "n" { a = local.fine }
build { sources = ["source.null.n"] }
