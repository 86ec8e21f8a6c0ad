variable "tags" {
  default = { env = "prod", team = "core" }
}
source "null" "n" {
  dynamic "tag" {
    for_each = var.tags
    iterator = t
    content {
      key   = t.key
      value = t.value
      dynamic "inner" {
        for_each = [1, 2]
        content { n = inner.value * 2 }
      }
    }
  }
}
build { sources = ["source.null.n"] }
