resource "oci_functions_application" "this" {
  compartment_id = var.compartment_id
  display_name   = "${var.name_prefix}-app"
  subnet_ids     = var.subnet_ids
  freeform_tags  = var.freeform_tags
}

resource "oci_functions_function" "this" {
  application_id = oci_functions_application.this.id
  display_name   = var.name_prefix
  image          = var.function_image

  # The provider types memory_in_mbs as a string.
  memory_in_mbs      = tostring(var.function_memory_in_mbs)
  timeout_in_seconds = var.function_timeout_in_seconds

  # NOTE: Resource Scheduler invokes the function detached, where OCI Functions allows up to
  # 3600 s through the function's detachedModeTimeoutInSeconds. Provider 7.19.0 has no argument for
  # it, so detached runs get the function's timeout. The engine stops starting work before its
  # deadline and the next run continues, so a short timeout delays a large first copy but loses
  # nothing.
  config = module.function_config.config

  freeform_tags = var.freeform_tags

  lifecycle {
    precondition {
      condition     = length(local.targets) > 0
      error_message = "No target vault: set targets, or create_target_vault = true with target_vault_compartment_id."
    }

    precondition {
      condition     = var.deadline_margin_seconds < var.function_timeout_in_seconds
      error_message = "deadline_margin_seconds (${var.deadline_margin_seconds}) must be less than function_timeout_in_seconds (${var.function_timeout_in_seconds}), or the function would stop before starting any work."
    }
  }
}
