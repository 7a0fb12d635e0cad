# The scheduled sweep copies whatever the Events rule missed. Resource Scheduler starts the function
# as a schedule resource with action START_RESOURCE, detached and with an empty body, which makes the
# function run the job of its configuration.
resource "oci_resource_scheduler_schedule" "sweep" {
  count = var.enable_schedule ? 1 : 0

  compartment_id     = var.compartment_id
  display_name       = "${var.name_prefix}-sweep"
  description        = "Runs kms-key-backup on its configured job."
  action             = "START_RESOURCE"
  recurrence_type    = "CRON"
  recurrence_details = var.schedule_cron_expression

  resources {
    id = oci_functions_function.this.id
  }

  freeform_tags = var.freeform_tags
}
