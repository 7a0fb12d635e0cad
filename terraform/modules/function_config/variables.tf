variable "source_region" {
  description = "Region of the source vault, for example eu-frankfurt-1."
  type        = string
}

variable "source_vault_id" {
  description = "OCID of the source vault."
  type        = string

  validation {
    condition     = can(regex("^ocid1\\.vault\\.oc[0-9]+\\.", var.source_vault_id))
    error_message = "source_vault_id must be a vault OCID starting with ocid1.vault.oc<realm>."
  }
}

variable "source_compartment_ids" {
  description = "Compartments to search for source keys. Empty means the source vault's compartment."
  type        = list(string)
  default     = []
}

variable "targets" {
  description = "Target vaults. Each key is imported into compartment_id of the vault vault_id in region."
  type = list(object({
    region                = string
    vault_id              = string
    compartment_id        = string
    protection_mode       = optional(string, "SOFTWARE")
    display_name_template = optional(string)
  }))

  validation {
    condition     = length(var.targets) > 0
    error_message = "targets must name at least one target vault."
  }

  validation {
    condition     = alltrue([for target in var.targets : contains(["SOFTWARE", "HSM"], target.protection_mode)])
    error_message = "Each target's protection_mode must be SOFTWARE or HSM."
  }
}

variable "key_ids" {
  description = "OCIDs of the source keys to copy. Empty means no selection by OCID."
  type        = list(string)
  default     = []
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

variable "wrapping_algorithm" {
  description = "Export wrapping algorithm: RSA_OAEP_AES_SHA256 or RSA_OAEP_SHA256 (AES keys only)."
  type        = string
  default     = "RSA_OAEP_AES_SHA256"

  validation {
    condition     = contains(["RSA_OAEP_AES_SHA256", "RSA_OAEP_SHA256"], var.wrapping_algorithm)
    error_message = "wrapping_algorithm must be RSA_OAEP_AES_SHA256 or RSA_OAEP_SHA256."
  }
}

variable "deep_verify" {
  description = "Compare key material digests after each copy."
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

variable "allow_payload_targets" {
  description = "Let an invocation payload name its own targets."
  type        = bool
  default     = false
}

variable "allow_payload_widen" {
  description = "Let an invocation payload select keys outside the configured selection."
  type        = bool
  default     = false
}

variable "allow_canary" {
  description = "Let a {\"trigger\": \"canary\"} payload create, rotate and schedule deletion of throwaway keys."
  type        = bool
  default     = false
}

variable "metrics_namespace" {
  description = "OCI Monitoring namespace of the run metrics. Empty disables metrics."
  type        = string
  default     = "kms_key_backup"
}

variable "metrics_compartment_id" {
  description = "Compartment of the run metrics. Null means the source vault's compartment."
  type        = string
  default     = null
}

variable "deadline_margin_seconds" {
  description = "Seconds before the invocation deadline at which the function stops starting new work."
  type        = number
  default     = 20

  validation {
    condition     = var.deadline_margin_seconds >= 0 && var.deadline_margin_seconds < 300
    error_message = "deadline_margin_seconds must be from 0 to 299."
  }
}

variable "log_level" {
  description = "Function log level: INFO or DEBUG."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["INFO", "DEBUG"], var.log_level)
    error_message = "log_level must be INFO or DEBUG."
  }
}

variable "log_payload" {
  description = "Log the invocation payload."
  type        = bool
  default     = false
}
