locals { greeting = "hi" }
source "null" "n" {
  a = local.greetin
  b = vars.x
}
build { sources = ["source.null.n"] }
