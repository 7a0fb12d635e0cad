terraform {
  # Provider-free on purpose: `terraform init`, `validate` and `test` run offline against it.
  required_version = ">= 1.6.0"
}
