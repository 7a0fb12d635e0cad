# Resource Manager sends an empty string for an optional field left blank, so "" counts as unset.
locals {
  form_target = var.target_vault_id == null || var.target_vault_id == "" ? [] : [
    {
      region          = var.target_region
      vault_id        = var.target_vault_id
      compartment_id  = var.target_compartment_id
      protection_mode = "SOFTWARE"
    },
  ]
}

module "kms_key_backup" {
  source = "../.."

  providers = {
    oci        = oci
    oci.source = oci.source
    oci.home   = oci.home
  }

  tenancy_id     = var.tenancy_ocid
  region         = var.region
  compartment_id = var.compartment_ocid
  subnet_ids     = var.subnet_ids
  function_image = var.function_image

  source_region               = var.source_region
  source_vault_id             = var.source_vault_id
  source_vault_compartment_id = var.source_vault_compartment_id
  targets                     = concat(var.targets, local.form_target)

  create_target_vault         = var.create_target_vault
  target_vault_compartment_id = var.create_target_vault ? var.compartment_ocid : null

  key_tags      = var.key_tags
  enable_canary = var.enable_canary
  alarm_email   = var.alarm_email == "" ? null : var.alarm_email
}
