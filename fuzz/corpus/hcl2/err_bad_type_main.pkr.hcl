variable "n" {
  type    = number
  default = "abc"
}
build { sources = [] }
