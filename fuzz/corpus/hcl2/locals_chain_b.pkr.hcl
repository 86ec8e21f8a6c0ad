variable "name" { default = "app" }
locals {
  prefix = upper(local.base)
  base   = "img"
  suffix = length(local.parts)
  parts  = split(",", "a,b,c")
}
source "null" "n" { name = local.full }
build { sources = ["source.null.n"] }
