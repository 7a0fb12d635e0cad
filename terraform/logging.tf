resource "oci_logging_log_group" "this" {
  compartment_id = var.compartment_id
  display_name   = "${var.name_prefix}-logs"
  description    = "Logs of the kms-key-backup function."
  freeform_tags  = var.freeform_tags
}

# OCI Functions writes invocation logs per application: category "invoke" of service "functions".
resource "oci_logging_log" "invoke" {
  display_name       = "${var.name_prefix}-invoke"
  log_group_id       = oci_logging_log_group.this.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days

  configuration {
    compartment_id = var.compartment_id

    source {
      category    = "invoke"
      resource    = oci_functions_application.this.id
      service     = "functions"
      source_type = "OCISERVICE"
    }
  }

  freeform_tags = var.freeform_tags
}
