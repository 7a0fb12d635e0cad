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
#
# With enable_canary, the canary and its probes also call these on their throwaway keys:
#   CreateKey                        KEY_CREATE                manage keys   source
#   CreateKeyVersion                 KEY_ROTATE                manage keys   source
#   ScheduleKeyDeletion              KEY_DELETE                manage keys   source and targets
#   DisableKey (probe)               KEY_DISABLE               manage keys   source and first target
#   Encrypt (probe)                  KEY_ENCRYPT               use keys      source
#   Decrypt (probe)                  KEY_DECRYPT               use keys      first target
# The statements cannot name keys that do not exist yet, so they cover every key of the vault in
# the compartment named. The canary's permission names are taken from kms_key_backup/permissions.py
# and were not checked against the reference's permission tables; the canary prints them in each
# step it reports, so a refused call names the permission to fix.

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

  # The canary creates its keys in the first source key compartment (the function's first
  # KMS_BACKUP_SOURCE_COMPARTMENT_IDS, or else the vault's compartment) and runs its probes on the
  # first target only, so the statements name exactly those places.
  canary_compartment_id = local.source_key_compartment_ids[0]

  # The throwaway keys' OCIDs are unknown until the canary runs, so export of them cannot be listed
  # in target.key.id. With a key list the regular export statement does not cover them, and the
  # canary statement grants KEY_EXPORT in the canary compartment without a key condition.
  canary_source_permissions = concat(
    ["KEY_CREATE", "KEY_ROTATE", "KEY_DELETE", "KEY_DISABLE", "KEY_ENCRYPT"],
    length(var.key_ids) > 0 ? ["KEY_EXPORT"] : [],
  )

  # Every target gets KEY_DELETE for its copies. The probes run on the first target only, so only
  # that one also gets DisableKey and Decrypt.
  # NOTE: DisableKey's permission is taken as KEY_DISABLE from permissions.py, which marks it as
  # unchecked; it may be KEY_UPDATE. A wrong name only leaves the two probes on DISABLED keys
  # "not run", and the canary's verdict does not depend on them.
  canary_target_permissions = [
    for index, target in var.targets : index == 0 ? ["KEY_DELETE", "KEY_DISABLE", "KEY_DECRYPT"] : ["KEY_DELETE"]
  ]

  # `manage keys` is the smallest verb that holds every permission listed; request.permission
  # keeps each statement to those permissions.
  canary_statements = !var.enable_canary ? [] : concat(
    [
      "Allow ${local.function_subject} to manage keys in compartment id ${local.canary_compartment_id} where all {target.vault.id = '${var.source_vault_id}', any {${join(", ", [for permission in local.canary_source_permissions : "request.permission = '${permission}'"])}}}",
    ],
    [
      for index, target in var.targets :
      "Allow ${local.function_subject} to manage keys in compartment id ${target.compartment_id} where all {target.vault.id = '${target.vault_id}', any {${join(", ", [for permission in local.canary_target_permissions[index] : "request.permission = '${permission}'"])}}}"
    ],
  )

  metrics_statements = var.metrics_namespace == "" ? [] : [
    "Allow ${local.function_subject} to use metrics in compartment id ${var.metrics_compartment_id} where target.metrics.namespace = '${var.metrics_namespace}'",
  ]

  function_statements = var.function_dynamic_group_id == null ? [] : distinct(concat(local.source_statements, local.target_statements, local.canary_statements, local.metrics_statements))

  # Resource Scheduler invokes the function as the schedule's resource principal. InvokeFunction
  # checks FN_INVOCATION, which `use fn-invocation` grants. The Functions policy reference lists only
  # the general variables, so the statement cannot name one function: the subject, a dynamic group
  # that matches this schedule only, is what keeps it narrow.
  schedule_statements = var.schedule_dynamic_group_id == null ? [] : [
    "Allow dynamic-group id ${var.schedule_dynamic_group_id} to use fn-invocation in compartment id ${var.function_compartment_id} where request.permission = 'FN_INVOCATION'",
  ]
}
