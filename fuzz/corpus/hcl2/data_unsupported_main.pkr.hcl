data "http" "x" { url = "https://example.com" }
source "null" "n" { a = data.http.x.body }
build { sources = ["source.null.n"] }
