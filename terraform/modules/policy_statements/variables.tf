variable "function_id" {
  description = "OCID of the backup function; its dynamic group matches this function only."
  type        = string
}

variable "function_dynamic_group_id" {
  description = "OCID of the dynamic group that matches the function. Null before it exists."
  type        = string
  default     = null
}

variable "function_compartment_id" {
  description = "Compartment of the function, where the schedule gets its invoke permission."
  type        = string
}

variable "schedule_id" {
  description = "OCID of the Resource Scheduler schedule that invokes the function. Null when there is no schedule."
  type        = string
  default     = null
}

variable "schedule_dynamic_group_id" {
  description = "OCID of the dynamic group that matches the schedule. Null when there is no schedule."
  type        = string
  default     = null
}

variable "source_vault_id" {
  description = "OCID of the source vault."
  type        = string
}

variable "source_vault_compartment_id" {
  description = "Compartment of the source vault."
  type        = string
}

variable "source_key_compartment_ids" {
  description = "Compartments that hold the source keys. Empty means the source vault's compartment."
  type        = list(string)
  default     = []
}

variable "key_ids" {
  description = "Source key OCIDs. When given, export is allowed for these keys only."
  type        = list(string)
  default     = []
}

variable "targets" {
  description = "Target vaults: the vault, the vault's compartment, and the compartment that receives the imported keys."
  type = list(object({
    vault_id             = string
    vault_compartment_id = string
    compartment_id       = string
  }))
}

variable "allow_target_export" {
  description = "Also allow export of the imported target keys, which deep verification needs."
  type        = bool
  default     = false
}

variable "enable_canary" {
  description = "Add the statements that the canary and its probes need: create, rotate, disable and schedule deletion of throwaway keys, and encrypt and decrypt with them. False adds none."
  type        = bool
  default     = false
}

variable "metrics_namespace" {
  description = "Monitoring namespace the function posts to. Empty grants no metrics permission."
  type        = string
  default     = "kms_key_backup"
}

variable "metrics_compartment_id" {
  description = "Compartment of the run metrics."
  type        = string
}
