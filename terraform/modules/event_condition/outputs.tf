output "condition" {
  description = "Events rule condition JSON that matches the listed key events in the listed compartments."
  value       = local.condition
}

output "event_types" {
  description = "Full event type names that the condition matches."
  value       = [for event_type in var.event_types : "${local.event_type_prefix}${event_type}"]
}
