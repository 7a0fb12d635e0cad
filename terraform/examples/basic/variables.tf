# The names tenancy_ocid, region and compartment_ocid are the ones Resource Manager fills in.

variable "tenancy_ocid" {
  description = "OCID of the tenancy."
  type        = string
}

variable "region" {
  description = "Region of the function."
  type        = string
}

variable "home_region" {
  description = "Home region of the tenancy, where IAM resources are written."
  type        = string
}

variable "compartment_ocid" {
  description = "Compartment of the function, its logs and alarms, and of the target vault when one is created."
  type        = string
}

variable "config_file_profile" {
  description = "Profile of ~/.oci/config for a local run. Leave null in Resource Manager."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets of the Functions application."
  type        = list(string)
}

variable "function_image" {
  description = "OCI Registry image of the function, with its tag."
  type        = string
}

variable "source_region" {
  description = "Region of the source vault."
  type        = string
}

variable "source_vault_id" {
  description = "OCID of the source vault."
  type        = string
}

variable "source_vault_compartment_id" {
  description = "Compartment of the source vault and its keys."
  type        = string
}

variable "targets" {
  description = "Existing target vaults."
  type = list(object({
    region          = string
    vault_id        = string
    compartment_id  = string
    protection_mode = optional(string, "SOFTWARE")
  }))
  default = []
}

# One target as plain fields, for the Resource Manager form, which cannot enter a list of objects.
variable "target_region" {
  description = "Region of one more target vault, or null."
  type        = string
  default     = null
}

variable "target_vault_id" {
  description = "OCID of one more target vault, or null."
  type        = string
  default     = null
}

variable "target_compartment_id" {
  description = "Compartment that receives the keys imported into target_vault_id."
  type        = string
  default     = null
}

variable "create_target_vault" {
  description = "Create a target vault in the function's region and compartment."
  type        = bool
  default     = false
}

variable "key_tags" {
  description = "Freeform tags a source key must carry to be copied. Empty copies every software key."
  type        = map(string)
  default     = {}
}

variable "enable_canary" {
  description = "Grant the policy statements of the canary, which creates, copies and schedules the deletion of throwaway keys when the function is invoked with {\"trigger\": \"canary\"}."
  type        = bool
  default     = false
}

variable "alarm_email" {
  description = "E-mail address that receives the alarms, or null."
  type        = string
  default     = null
}
