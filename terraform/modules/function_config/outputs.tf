output "config" {
  description = "Function configuration: KMS_BACKUP_* variable name to string value."
  value       = local.config

  precondition {
    condition     = local.config_size_bytes < 4096
    error_message = "The function configuration is ${local.config_size_bytes} bytes, over the 4 KB limit of OCI Functions; select keys by tag or compartment instead of long OCID lists."
  }
}

output "config_size_bytes" {
  description = "Estimated size of the configuration: the sum of name and value lengths."
  value       = local.config_size_bytes
}
