source "null" "n" { communicator = "none" }
source "null" "n" { communicator = "ssh" }
build { sources = ["source.null.n"] }
