source "null" "n" { h = env("HOME") }
build { sources = ["source.null.n"] }
