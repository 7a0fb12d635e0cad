# Optional target vault in the function's region. A DEFAULT vault holds software keys, which is all
# the copy needs.
resource "oci_kms_vault" "target" {
  count = var.create_target_vault ? 1 : 0

  compartment_id = var.target_vault_compartment_id
  display_name   = "${var.name_prefix}-target"
  vault_type     = "DEFAULT"
  freeform_tags  = var.freeform_tags

  lifecycle {
    precondition {
      condition     = var.target_vault_compartment_id != null
      error_message = "create_target_vault = true needs target_vault_compartment_id, the compartment of the new vault and its keys."
    }
  }
}
