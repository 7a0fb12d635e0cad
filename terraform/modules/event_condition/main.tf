# Build the Events rule condition for Vault key events. Within one attribute a list means any of its
# values, and attributes combine with AND, so this matches any listed key event in any listed
# compartment.
#
# NOTE: the condition cannot filter on the vault, because the contents of additionalDetails in
# Vault key events are not documented. The function re-reads each key through the API and ignores
# keys of other vaults, so an event from another vault costs one invocation and copies nothing.

locals {
  event_type_prefix = "com.oraclecloud.keymanagementservice."

  condition = jsonencode({
    eventType = [for event_type in var.event_types : "${local.event_type_prefix}${event_type}"]
    data = {
      compartmentId = distinct(var.compartment_ids)
    }
  })
}
