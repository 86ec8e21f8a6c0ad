variable "x" {
  default = 1
  bogus   = 2
}
