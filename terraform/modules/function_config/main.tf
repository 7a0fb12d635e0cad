# Build the function's configuration map from typed inputs. The variable names are the function's
# contract (docs/configuration.md); the two endpoint override variables exist for tests only and are
# never set here.

locals {
  # The function parses KMS_BACKUP_TARGETS as a JSON array of objects with exactly these fields, so
  # fields left null are dropped instead of being sent as JSON null.
  targets_json = jsonencode([
    for target in var.targets : {
      for field, value in {
        region                = target.region
        vault_id              = target.vault_id
        compartment_id        = target.compartment_id
        protection_mode       = target.protection_mode
        display_name_template = target.display_name_template
      } : field => value if value != null
    }
  ])

  # Settings left at the function's own default are not written, which keeps application and
  # function configuration together under the 4 KB limit of OCI Functions.
  optional_settings = {
    KMS_BACKUP_SOURCE_COMPARTMENT_IDS = join(",", var.source_compartment_ids)
    KMS_BACKUP_KEY_IDS                = join(",", var.key_ids)
    KMS_BACKUP_KEY_NAMES              = join(",", var.key_names)
    KMS_BACKUP_KEY_TAGS               = length(var.key_tags) > 0 ? jsonencode(var.key_tags) : ""
    KMS_BACKUP_ALL_SOFTWARE_KEYS      = var.all_software_keys == null ? "" : tostring(var.all_software_keys)
    KMS_BACKUP_EXCLUDE_KEY_IDS        = join(",", var.exclude_key_ids)
    KMS_BACKUP_EXCLUDE_KEY_NAMES      = join(",", var.exclude_key_names)
    KMS_BACKUP_METRICS_COMPARTMENT_ID = var.metrics_compartment_id == null ? "" : var.metrics_compartment_id
    KMS_BACKUP_REQUESTS_PER_SECOND    = var.requests_per_second == null ? "" : tostring(var.requests_per_second)
  }

  config = merge(
    {
      KMS_BACKUP_SOURCE_REGION           = var.source_region
      KMS_BACKUP_SOURCE_VAULT_ID         = var.source_vault_id
      KMS_BACKUP_TARGETS                 = local.targets_json
      KMS_BACKUP_VERSIONS                = var.versions
      KMS_BACKUP_WRAPPING_ALGORITHM      = var.wrapping_algorithm
      KMS_BACKUP_DEEP_VERIFY             = tostring(var.deep_verify)
      KMS_BACKUP_CONCURRENCY             = tostring(var.concurrency)
      KMS_BACKUP_ALLOW_PAYLOAD_TARGETS   = tostring(var.allow_payload_targets)
      KMS_BACKUP_ALLOW_PAYLOAD_WIDEN     = tostring(var.allow_payload_widen)
      KMS_BACKUP_ALLOW_CANARY            = tostring(var.allow_canary)
      KMS_BACKUP_METRICS_NAMESPACE       = var.metrics_namespace
      KMS_BACKUP_DEADLINE_MARGIN_SECONDS = tostring(var.deadline_margin_seconds)
      KMS_BACKUP_LOG_LEVEL               = var.log_level
      KMS_BACKUP_LOG_PAYLOAD             = tostring(var.log_payload)
    },
    { for name, value in local.optional_settings : name => value if value != "" },
  )

  # Each configuration entry is counted as name plus value, an estimate of how OCI Functions
  # measures the 4 KB limit.
  config_size_bytes = sum([for name, value in local.config : length(name) + length(value)])
}
