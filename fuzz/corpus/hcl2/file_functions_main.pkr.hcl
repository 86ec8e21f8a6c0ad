source "null" "n" {
  content = file("data/hello.txt")
  exists  = fileexists("data/hello.txt")
  missing = fileexists("data/nope.txt")
  set     = fileset(path.root, "data/*.txt")
  tmpl    = templatefile("data/t.tpl", { name = "ana", items = ["x", "y"] })
  root    = path.root
}
build { sources = ["source.null.n"] }
