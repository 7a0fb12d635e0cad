output "function_id" {
  description = "OCID of the backup function, for `oci fn function invoke --function-id`."
  value       = oci_functions_function.this.id
}

output "function_invoke_endpoint" {
  description = "Invoke endpoint of the backup function."
  value       = oci_functions_function.this.invoke_endpoint
}

output "application_id" {
  description = "OCID of the Functions application, for `fn` contexts and the invocation log."
  value       = oci_functions_application.this.id
}

output "function_config" {
  description = "Configuration written to the function: KMS_BACKUP_* name to value."
  value       = module.function_config.config
}

output "function_dynamic_group_id" {
  description = "OCID of the dynamic group that matches the function."
  value       = oci_identity_dynamic_group.function.id
}

output "function_policy_statements" {
  description = "IAM statements granted to the function."
  value       = module.policy_statements.function_statements
}

output "schedule_id" {
  description = "OCID of the Resource Scheduler schedule; null when enable_schedule is false."
  value       = var.enable_schedule ? oci_resource_scheduler_schedule.sweep[0].id : null
}

output "events_rule_id" {
  description = "OCID of the Events rule in the source region; null when enable_events_rule is false."
  value       = var.enable_events_rule ? oci_events_rule.key_changes[0].id : null
}

output "events_rule_condition" {
  description = "Condition JSON of the Events rule."
  value       = module.event_condition.condition
}

output "invoke_log_id" {
  description = "OCID of the function's invocation log."
  value       = oci_logging_log.invoke.id
}

output "alarm_topic_id" {
  description = "OCID of the notification topic that receives the alarms."
  value       = oci_ons_notification_topic.alarms.id
}

output "target_vault_id" {
  description = "OCID of the created target vault; null when create_target_vault is false."
  value       = var.create_target_vault ? oci_kms_vault.target[0].id : null
}

output "targets" {
  description = "Every target the function copies to, the created vault included."
  value       = local.targets
}
