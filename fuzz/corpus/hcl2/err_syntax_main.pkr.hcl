source "null" "n" {
  a = 
}
