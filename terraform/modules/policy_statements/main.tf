# Compute the IAM policy statements and dynamic group matching rules of the deployment as plain
# strings, so offline tests can read them before any provider is involved.
#
# Verbs and permissions follow the OCI IAM policy reference "Details for the Vault Service"
# (https://docs.oracle.com/iaas/Content/Identity/Reference/keypolicyreference.htm):
#   ListKeys, ListKeyVersions        KEY_INSPECT               inspect keys
#   GetKey, GetKeyVersion            KEY_READ                  read keys
#   ExportKey                        KEY_EXPORT                use keys
#   ImportKey                        KEY_IMPORT and            manage keys
#                                    VAULT_IMPORT_KEY          use vaults
#   ImportKeyVersion                 KEY_IMPORT                manage keys
#   UpdateKey (provenance tags)      KEY_UPDATE                manage keys
#   GetVault, GetVaultUsage          VAULT_READ                read vaults
# Where a verb grants more than the copy needs, `request.permission` narrows the statement.

locals {
  function_subject = var.function_dynamic_group_id == null ? "" : "dynamic-group id ${var.function_dynamic_group_id}"

  source_key_compartment_ids = length(var.source_key_compartment_ids) > 0 ? distinct(var.source_key_compartment_ids) : [var.source_vault_compartment_id]

  # target.key.id is only known for calls on one key, so the key list narrows export, never listing.
  key_id_condition = length(var.key_ids) == 0 ? "" : format(", any {%s}", join(", ", [for key_id in var.key_ids : "target.key.id = '${key_id}'"]))

  target_key_permissions = concat(
    ["KEY_INSPECT", "KEY_READ", "KEY_IMPORT", "KEY_UPDATE"],
    var.allow_target_export ? ["KEY_EXPORT"] : [],
  )
  target_key_permission_condition = join(", ", [for permission in local.target_key_permissions : "request.permission = '${permission}'"])

  source_statements = concat(
    [
      "Allow ${local.function_subject} to read vaults in compartment id ${var.source_vault_compartment_id} where target.vault.id = '${var.source_vault_id}'",
    ],
    [
      for compartment_id in local.source_key_compartment_ids :
      "Allow ${local.function_subject} to read keys in compartment id ${compartment_id} where target.vault.id = '${var.source_vault_id}'"
    ],
    [
      for compartment_id in local.source_key_compartment_ids :
      "Allow ${local.function_subject} to use keys in compartment id ${compartment_id} where all {target.vault.id = '${var.source_vault_id}', request.permission = 'KEY_EXPORT'${local.key_id_condition}}"
    ],
  )

  # NOTE: the permission that GetWrappingKey checks is not in the Vault policy reference. The
  # statements assume that `read vaults` on the target vault covers it.
  target_statements = flatten([
    for target in var.targets : [
      "Allow ${local.function_subject} to read vaults in compartment id ${target.vault_compartment_id} where target.vault.id = '${target.vault_id}'",
      "Allow ${local.function_subject} to use vaults in compartment id ${target.vault_compartment_id} where all {target.vault.id = '${target.vault_id}', request.permission = 'VAULT_IMPORT_KEY'}",
      "Allow ${local.function_subject} to manage keys in compartment id ${target.compartment_id} where all {target.vault.id = '${target.vault_id}', any {${local.target_key_permission_condition}}}",
    ]
  ])

  metrics_statements = var.metrics_namespace == "" ? [] : [
    "Allow ${local.function_subject} to use metrics in compartment id ${var.metrics_compartment_id} where target.metrics.namespace = '${var.metrics_namespace}'",
  ]

  function_statements = var.function_dynamic_group_id == null ? [] : distinct(concat(local.source_statements, local.target_statements, local.metrics_statements))

  # Resource Scheduler invokes the function as the schedule's resource principal. InvokeFunction
  # checks FN_INVOCATION, which `use fn-invocation` grants. The Functions policy reference lists only
  # the general variables, so the statement cannot name one function: the subject, a dynamic group
  # that matches this schedule only, is what keeps it narrow.
  schedule_statements = var.schedule_dynamic_group_id == null ? [] : [
    "Allow dynamic-group id ${var.schedule_dynamic_group_id} to use fn-invocation in compartment id ${var.function_compartment_id} where request.permission = 'FN_INVOCATION'",
  ]
}
