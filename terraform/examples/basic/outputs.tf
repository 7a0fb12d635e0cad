output "function_id" {
  description = "OCID of the backup function."
  value       = module.kms_key_backup.function_id
}

output "application_id" {
  description = "OCID of the Functions application."
  value       = module.kms_key_backup.application_id
}

output "function_policy_statements" {
  description = "IAM statements granted to the function."
  value       = module.kms_key_backup.function_policy_statements
}
