source "null" "n" { c = file("missing.txt") }
build { sources = ["source.null.n"] }
