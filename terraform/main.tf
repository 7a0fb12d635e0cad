# kms-key-backup deployment: the function and its application, its IAM, the Events rule and the
# scheduled sweep that invoke it, its invocation log, and the alarms on its run metrics.

locals {
  created_target = var.create_target_vault ? [
    {
      region                = var.region
      vault_id              = oci_kms_vault.target[0].id
      compartment_id        = var.target_vault_compartment_id
      vault_compartment_id  = var.target_vault_compartment_id
      protection_mode       = "SOFTWARE"
      display_name_template = null
    },
  ] : []

  targets = concat(
    [
      for target in var.targets : {
        region                = target.region
        vault_id              = target.vault_id
        compartment_id        = target.compartment_id
        vault_compartment_id  = coalesce(target.vault_compartment_id, target.compartment_id)
        protection_mode       = target.protection_mode
        display_name_template = target.display_name_template
      }
    ],
    local.created_target,
  )

  source_key_compartment_ids = length(var.source_key_compartment_ids) > 0 ? var.source_key_compartment_ids : [var.source_vault_compartment_id]

  # The function posts its metrics to the source vault's compartment unless told otherwise, and the
  # alarms read them from the same compartment.
  metrics_compartment_id = coalesce(var.metrics_compartment_id, var.source_vault_compartment_id)
  metrics_enabled        = var.metrics_namespace != ""
}

module "function_config" {
  source = "./modules/function_config"

  source_region          = var.source_region
  source_vault_id        = var.source_vault_id
  source_compartment_ids = var.source_key_compartment_ids
  targets = [
    for target in local.targets : {
      region                = target.region
      vault_id              = target.vault_id
      compartment_id        = target.compartment_id
      protection_mode       = target.protection_mode
      display_name_template = target.display_name_template
    }
  ]
  key_ids                 = var.key_ids
  key_names               = var.key_names
  key_tags                = var.key_tags
  all_software_keys       = var.all_software_keys
  exclude_key_ids         = var.exclude_key_ids
  exclude_key_names       = var.exclude_key_names
  versions                = var.versions
  wrapping_algorithm      = var.wrapping_algorithm
  deep_verify             = var.deep_verify
  concurrency             = var.concurrency
  requests_per_second     = var.requests_per_second
  allow_payload_targets   = var.allow_payload_targets
  allow_payload_widen     = var.allow_payload_widen
  allow_canary            = var.enable_canary
  metrics_namespace       = var.metrics_namespace
  metrics_compartment_id  = local.metrics_compartment_id
  deadline_margin_seconds = var.deadline_margin_seconds
  log_level               = var.log_level
  log_payload             = var.log_payload
}

module "policy_statements" {
  source = "./modules/policy_statements"

  function_id                 = oci_functions_function.this.id
  function_dynamic_group_id   = oci_identity_dynamic_group.function.id
  function_compartment_id     = var.compartment_id
  schedule_id                 = var.enable_schedule ? oci_resource_scheduler_schedule.sweep[0].id : null
  schedule_dynamic_group_id   = var.enable_schedule ? oci_identity_dynamic_group.schedule[0].id : null
  source_vault_id             = var.source_vault_id
  source_vault_compartment_id = var.source_vault_compartment_id
  source_key_compartment_ids  = local.source_key_compartment_ids
  key_ids                     = var.key_ids
  targets = [
    for target in local.targets : {
      vault_id             = target.vault_id
      vault_compartment_id = target.vault_compartment_id
      compartment_id       = target.compartment_id
    }
  ]
  allow_target_export    = var.deep_verify
  enable_canary          = var.enable_canary
  metrics_namespace      = var.metrics_namespace
  metrics_compartment_id = local.metrics_compartment_id
}

module "event_condition" {
  source = "./modules/event_condition"

  event_types     = var.event_types
  compartment_ids = local.source_key_compartment_ids
}
