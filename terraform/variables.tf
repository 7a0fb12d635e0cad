# Deployment

variable "tenancy_id" {
  description = "OCID of the tenancy. Dynamic groups and their policies are created at the tenancy level."
  type        = string

  validation {
    condition     = can(regex("^ocid1\\.tenancy\\.oc[0-9]+\\.", var.tenancy_id))
    error_message = "tenancy_id must be a tenancy OCID starting with ocid1.tenancy.oc<realm>."
  }
}

variable "region" {
  description = "Region of the default oci provider, where the function, logs, alarms and the optional target vault are created."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2,}(-[a-z0-9]+)+-[0-9]+$", var.region))
    error_message = "region must be an OCI region identifier such as eu-frankfurt-1."
  }
}

variable "compartment_id" {
  description = "Compartment of the function, its application, logs, alarms and schedule."
  type        = string

  validation {
    condition     = can(regex("^ocid1\\.(compartment|tenancy)\\.oc[0-9]+\\.", var.compartment_id))
    error_message = "compartment_id must be a compartment OCID (ocid1.compartment...) or the tenancy OCID."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name, so that several deployments can share a tenancy."
  type        = string
  default     = "kms-key-backup"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must start with a letter and have at most 40 letters, digits or hyphens."
  }
}

variable "subnet_ids" {
  description = "Subnets of the Functions application. They need a route to the Vault and Monitoring endpoints, for example through a service gateway."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for id in var.subnet_ids : can(regex("^ocid1\\.subnet\\.oc[0-9]+\\.", id))])
    error_message = "subnet_ids must be one or more subnet OCIDs starting with ocid1.subnet.oc<realm>."
  }
}

variable "function_image" {
  description = "Full image reference of the function in OCI Registry, for example fra.ocir.io/<namespace>/kms-key-backup:0.1.0."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+\\.ocir\\.io/[^/]+/.+:[^:]+$", var.function_image))
    error_message = "function_image must be an OCI Registry image with a tag, such as fra.ocir.io/<namespace>/<repository>:<tag>."
  }
}

variable "function_memory_in_mbs" {
  description = "Function memory in MB."
  type        = number
  default     = 256

  validation {
    condition     = contains([128, 256, 512, 1024, 2048, 3072], var.function_memory_in_mbs)
    error_message = "function_memory_in_mbs must be one of 128, 256, 512, 1024, 2048 or 3072."
  }
}

variable "function_timeout_in_seconds" {
  description = "Function timeout in seconds. 300 is the maximum of a synchronous invocation."
  type        = number
  default     = 300

  validation {
    condition     = var.function_timeout_in_seconds >= 5 && var.function_timeout_in_seconds <= 300
    error_message = "function_timeout_in_seconds must be from 5 to 300."
  }
}

variable "freeform_tags" {
  description = "Freeform tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

# Source and targets

variable "source_region" {
  description = "Region of the source vault; the oci.source provider must be configured for it."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2,}(-[a-z0-9]+)+-[0-9]+$", var.source_region))
    error_message = "source_region must be an OCI region identifier such as eu-frankfurt-1."
  }
}

variable "source_vault_id" {
  description = "OCID of the source vault."
  type        = string

  validation {
    condition     = can(regex("^ocid1\\.vault\\.oc[0-9]+\\.", var.source_vault_id))
    error_message = "source_vault_id must be a vault OCID starting with ocid1.vault.oc<realm>."
  }
}

variable "source_vault_compartment_id" {
  description = "Compartment of the source vault. The Events rule is created here and sees events of its child compartments too."
  type        = string

  validation {
    condition     = can(regex("^ocid1\\.(compartment|tenancy)\\.oc[0-9]+\\.", var.source_vault_compartment_id))
    error_message = "source_vault_compartment_id must be a compartment OCID or the tenancy OCID."
  }
}

variable "source_key_compartment_ids" {
  description = "Compartments that hold the source keys. Empty means the source vault's compartment."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.source_key_compartment_ids : can(regex("^ocid1\\.(compartment|tenancy)\\.oc[0-9]+\\.", id))])
    error_message = "source_key_compartment_ids must contain compartment OCIDs only."
  }
}

variable "targets" {
  description = "Target vaults that receive the copies. compartment_id receives the imported keys; vault_compartment_id is the vault's own compartment and defaults to compartment_id."
  type = list(object({
    region                = string
    vault_id              = string
    compartment_id        = string
    vault_compartment_id  = optional(string)
    protection_mode       = optional(string, "SOFTWARE")
    display_name_template = optional(string)
  }))
  default = []

  validation {
    condition     = alltrue([for target in var.targets : can(regex("^ocid1\\.vault\\.oc[0-9]+\\.", target.vault_id))])
    error_message = "Each target's vault_id must be a vault OCID starting with ocid1.vault.oc<realm>."
  }

  validation {
    condition     = alltrue([for target in var.targets : can(regex("^[a-z]{2,}(-[a-z0-9]+)+-[0-9]+$", target.region))])
    error_message = "Each target's region must be an OCI region identifier such as eu-amsterdam-1."
  }

  validation {
    condition = alltrue([
      for target in var.targets :
      can(regex("^ocid1\\.(compartment|tenancy)\\.oc[0-9]+\\.", target.compartment_id)) &&
      (target.vault_compartment_id == null || can(regex("^ocid1\\.(compartment|tenancy)\\.oc[0-9]+\\.", coalesce(target.vault_compartment_id, "x"))))
    ])
    error_message = "Each target's compartment_id and vault_compartment_id must be compartment OCIDs."
  }

  validation {
    condition     = alltrue([for target in var.targets : contains(["SOFTWARE", "HSM"], target.protection_mode)])
    error_message = "Each target's protection_mode must be SOFTWARE or HSM."
  }
}

variable "create_target_vault" {
  description = "Create a DEFAULT vault in var.region and add it as a target. Off by default: bring an existing vault in targets."
  type        = bool
  default     = false
}

variable "target_vault_compartment_id" {
  description = "Compartment of the created target vault and of the keys imported into it. Required when create_target_vault is true."
  type        = string
  default     = null

  validation {
    condition     = var.target_vault_compartment_id == null || can(regex("^ocid1\\.(compartment|tenancy)\\.oc[0-9]+\\.", coalesce(var.target_vault_compartment_id, "x")))
    error_message = "target_vault_compartment_id must be a compartment OCID."
  }
}

# Key selection and run settings, written to the function's configuration

variable "key_ids" {
  description = "OCIDs of the source keys to copy. When given, the policy allows export of these keys only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.key_ids : can(regex("^ocid1\\.key\\.oc[0-9]+\\.", id))])
    error_message = "key_ids must contain key OCIDs starting with ocid1.key.oc<realm>."
  }
}

variable "key_names" {
  description = "Display names of the source keys to copy."
  type        = list(string)
  default     = []
}

variable "key_tags" {
  description = "Freeform tags that a source key must carry to be copied."
  type        = map(string)
  default     = {}
}

variable "all_software_keys" {
  description = "Copy every software key of the source vault. Null leaves the function's default, which applies when no other selection is set."
  type        = bool
  default     = null
}

variable "exclude_key_ids" {
  description = "OCIDs of source keys never to copy."
  type        = list(string)
  default     = []
}

variable "exclude_key_names" {
  description = "Display names of source keys never to copy."
  type        = list(string)
  default     = []
}

variable "versions" {
  description = "Which key versions to copy: all or current."
  type        = string
  default     = "all"

  validation {
    condition     = contains(["all", "current"], var.versions)
    error_message = "versions must be all or current."
  }
}

variable "deep_verify" {
  description = "Compare key material digests after each copy. Also grants export of the target keys."
  type        = bool
  default     = false
}

variable "concurrency" {
  description = "Number of keys copied at once."
  type        = number
  default     = 8

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 32 && floor(var.concurrency) == var.concurrency
    error_message = "concurrency must be a whole number from 1 to 32."
  }
}

variable "requests_per_second" {
  description = "Client-side limit of Vault calls a second, per region and call category. Null leaves the function's default of 10, the documented Vault limit per tenancy."
  type        = number
  default     = null

  validation {
    condition     = var.requests_per_second == null || try(var.requests_per_second >= 0.1 && var.requests_per_second <= 1000, false)
    error_message = "requests_per_second must be null or a number of calls a second from 0.1 to 1000."
  }
}

variable "wrapping_algorithm" {
  description = "Algorithm that wraps each exported key version: RSA_OAEP_AES_SHA256 (any key) or RSA_OAEP_SHA256 (AES keys only)."
  type        = string
  default     = "RSA_OAEP_AES_SHA256"

  validation {
    condition     = contains(["RSA_OAEP_AES_SHA256", "RSA_OAEP_SHA256"], var.wrapping_algorithm)
    error_message = "wrapping_algorithm must be RSA_OAEP_AES_SHA256 or RSA_OAEP_SHA256."
  }
}

variable "allow_payload_targets" {
  description = "Let an invocation payload name its own target vaults instead of a subset of targets. The policy still grants import into the configured targets only."
  type        = bool
  default     = false
}

variable "allow_payload_widen" {
  description = "Let an invocation payload select keys, versions and source compartments outside the configured selection."
  type        = bool
  default     = false
}

variable "deadline_margin_seconds" {
  description = "Seconds before the invocation deadline at which the function stops starting new keys and versions. It must cover the keys in flight and up to 10 s to post metrics."
  type        = number
  default     = 20

  validation {
    condition     = var.deadline_margin_seconds >= 0 && var.deadline_margin_seconds < 300
    error_message = "deadline_margin_seconds must be from 0 to 299."
  }
}

variable "log_level" {
  description = "Level of the function's JSON log lines: INFO or DEBUG."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["INFO", "DEBUG"], var.log_level)
    error_message = "log_level must be INFO or DEBUG."
  }
}

variable "log_payload" {
  description = "Log each invocation payload. Off by default, because a payload may name keys and vaults."
  type        = bool
  default     = false
}

variable "enable_canary" {
  description = "Let the function run the canary (body {\"trigger\": \"canary\"}, optionally with \"probe\": true). Adds policy statements, narrowed to the source and target vaults, to create, rotate, disable and schedule deletion of throwaway keys and to encrypt and decrypt with them. With key_ids, export in the canary compartment is no longer limited to key_ids."
  type        = bool
  default     = false
}

variable "metrics_compartment_id" {
  description = "Compartment of the run metrics, where the alarms read them and the policy allows posting. Null means the source vault's compartment."
  type        = string
  default     = null

  validation {
    condition     = var.metrics_compartment_id == null || can(regex("^ocid1\\.(compartment|tenancy)\\.oc[0-9]+\\.", coalesce(var.metrics_compartment_id, "x")))
    error_message = "metrics_compartment_id must be a compartment OCID (ocid1.compartment...), the tenancy OCID, or null."
  }
}

variable "metrics_namespace" {
  description = "OCI Monitoring namespace of the run metrics. Empty disables metrics and the alarms."
  type        = string
  default     = "kms_key_backup"

  validation {
    condition     = var.metrics_namespace == "" || can(regex("^[a-z][a-z0-9_]*$", var.metrics_namespace))
    error_message = "metrics_namespace must be empty or start with a lowercase letter followed by lowercase letters, digits and underscores; custom namespaces must not start with oci_."
  }

  validation {
    condition     = !startswith(var.metrics_namespace, "oci_")
    error_message = "metrics_namespace must not start with oci_, which OCI reserves for its own services."
  }
}

# Triggers

variable "enable_events_rule" {
  description = "Invoke the function when a key or key version changes in the source compartments."
  type        = bool
  default     = true
}

variable "event_types" {
  description = "Vault key event types, without the com.oraclecloud.keymanagementservice. prefix, that invoke the function."
  type        = list(string)
  default = [
    "createkey.end",
    "enablekey.end",
    "cancelkeydeletion.end",
    "changekeycompartment.end",
    "createkeyversion.end",
    "cancelkeyversiondeletion.end",
    "autokeyrotate.end",
  ]
}

variable "enable_schedule" {
  description = "Invoke the function on a schedule, which catches changes that raised no event."
  type        = bool
  default     = true
}

variable "schedule_cron_expression" {
  description = "Five-field CRON expression (UTC) of the scheduled sweep. The default runs daily at 02:00."
  type        = string
  default     = "0 2 * * *"

  validation {
    condition     = can(regex("^\\S+ \\S+ \\S+ \\S+ \\S+$", var.schedule_cron_expression))
    error_message = "schedule_cron_expression must have five space-separated fields: minute hour day-of-month month day-of-week, for example \"0 2 * * *\"."
  }
}

variable "schedule_interval_minutes" {
  description = "Interval between two scheduled runs, in minutes; it must match schedule_cron_expression. The lag alarm fires after twice this interval without a successful run."
  type        = number
  default     = 1440

  validation {
    condition     = var.schedule_interval_minutes >= 10 && var.schedule_interval_minutes <= 1440
    error_message = "schedule_interval_minutes must be from 10 to 1440, because the lag alarm's absence period, twice the interval, must be 20 minutes to 2 days."
  }
}

# Logging and alarms

variable "log_retention_days" {
  description = "Retention of the function's invocation log, in days (30-day steps from 30 to 180)."
  type        = number
  default     = 30

  validation {
    condition     = contains([30, 60, 90, 120, 150, 180], var.log_retention_days)
    error_message = "log_retention_days must be one of 30, 60, 90, 120, 150 or 180."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic. Null creates the topic without a subscription."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+$", coalesce(var.alarm_email, "x")))
    error_message = "alarm_email must be an e-mail address such as ops@example.com, or null."
  }
}

variable "failed_keys_metric_name" {
  description = "Metric that counts the keys a run failed to copy."
  type        = string
  default     = "keys_failed"
}

variable "successful_runs_metric_name" {
  description = "Metric posted once by each run that finished without failed keys."
  type        = string
  default     = "runs_succeeded"
}
