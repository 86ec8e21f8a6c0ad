variable "size" {
  type    = number
  default = 3
  validation {
    condition     = var.size > 5
    error_message = "The size must be greater than 5."
  }
}
source "null" "n" { s = var.size }
build { sources = ["source.null.n"] }
