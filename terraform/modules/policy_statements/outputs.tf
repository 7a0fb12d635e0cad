output "function_matching_rule" {
  description = "Dynamic group matching rule that matches the backup function only."
  value       = "ALL {resource.type = 'fnfunc', resource.id = '${var.function_id}'}"
}

output "schedule_matching_rule" {
  description = "Dynamic group matching rule that matches the schedule only; null without a schedule."
  value       = var.schedule_id == null ? null : "ALL {resource.type = 'resourceschedule', resource.id = '${var.schedule_id}'}"
}

output "function_statements" {
  description = "Policy statements for the function's dynamic group: read and export in the source vault, import in the target vaults, post metrics to one namespace, and with enable_canary the canary's key calls in each vault."
  value       = local.function_statements
}

output "schedule_statements" {
  description = "Policy statements that let the schedule's dynamic group invoke functions in the function's compartment."
  value       = local.schedule_statements
}
