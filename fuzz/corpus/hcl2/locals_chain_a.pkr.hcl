locals {
  full = "${local.prefix}-${var.name}-${local.suffix}"
}
