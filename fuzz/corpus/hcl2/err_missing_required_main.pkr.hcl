variable "version" { type = string }
variable "unused" { type = string }
source "null" "n" { v = var.version }
build { sources = ["source.null.n"] }
