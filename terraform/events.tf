# Events are delivered in the region where they happen, so the rule lives in the source vault's
# region and compartment. It sees events of that compartment and its child compartments, and the
# condition narrows them to the source key compartments.
#
# NOTE: when the function runs in another region than the source vault, the rule's action points
# across regions. Whether Events delivers to a function in another region is not verified; deploy
# the function in the source region when in doubt.
resource "oci_events_rule" "key_changes" {
  count    = var.enable_events_rule ? 1 : 0
  provider = oci.source

  compartment_id = var.source_vault_compartment_id
  display_name   = "${var.name_prefix}-key-changes"
  description    = "Invokes kms-key-backup when a source key or key version is created, rotated or enabled."
  is_enabled     = true
  condition      = module.event_condition.condition

  actions {
    actions {
      action_type = "FAAS"
      function_id = oci_functions_function.this.id
      is_enabled  = true
      description = "Copy the changed keys to the target vaults."
    }
  }

  freeform_tags = var.freeform_tags
}
