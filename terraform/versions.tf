terraform {
  required_version = ">= 1.6.0"

  required_providers {
    oci = {
      source  = "oracle/oci"
      version = "7.19.0"
      # The default provider is the function's region. IAM writes must go to the tenancy's home
      # region, and the Events rule must live in the source vault's region, so the caller passes
      # both explicitly.
      configuration_aliases = [oci.home, oci.source]
    }
  }
}
