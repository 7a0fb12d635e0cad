# Dynamic groups and policies are identity resources: they are written in the tenancy's home region
# through the oci.home provider, and live in the tenancy so that statements can name any compartment.

resource "oci_identity_dynamic_group" "function" {
  provider = oci.home

  compartment_id = var.tenancy_id
  name           = "${var.name_prefix}-function"
  description    = "The kms-key-backup function ${var.name_prefix}, and nothing else."
  matching_rule  = module.policy_statements.function_matching_rule
  freeform_tags  = var.freeform_tags
}

resource "oci_identity_policy" "function" {
  provider = oci.home

  compartment_id = var.tenancy_id
  name           = "${var.name_prefix}-function"
  description    = "Lets the kms-key-backup function read and export source keys, import them into the target vaults and post its metrics."
  statements     = module.policy_statements.function_statements
  freeform_tags  = var.freeform_tags
}

resource "oci_identity_dynamic_group" "schedule" {
  count    = var.enable_schedule ? 1 : 0
  provider = oci.home

  compartment_id = var.tenancy_id
  name           = "${var.name_prefix}-schedule"
  description    = "The Resource Scheduler schedule that invokes the kms-key-backup function ${var.name_prefix}."
  matching_rule  = module.policy_statements.schedule_matching_rule
  freeform_tags  = var.freeform_tags
}

resource "oci_identity_policy" "schedule" {
  count    = var.enable_schedule ? 1 : 0
  provider = oci.home

  compartment_id = var.tenancy_id
  name           = "${var.name_prefix}-schedule"
  description    = "Lets the kms-key-backup schedule, and no other principal, invoke functions in the function's compartment."
  statements     = module.policy_statements.schedule_statements
  freeform_tags  = var.freeform_tags
}
