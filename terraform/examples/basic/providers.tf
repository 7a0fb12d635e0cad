# Three providers, possibly for the same region: the function's region, the source vault's region
# (Events rule) and the tenancy's home region (IAM). Resource Manager fills in authentication; a
# local run reads the profile config_file_profile of ~/.oci/config.

provider "oci" {
  region              = var.region
  config_file_profile = var.config_file_profile
}

provider "oci" {
  alias               = "source"
  region              = var.source_region
  config_file_profile = var.config_file_profile
}

provider "oci" {
  alias               = "home"
  region              = var.home_region
  config_file_profile = var.config_file_profile
}
