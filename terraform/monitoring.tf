locals {
  # The lag alarm counts windows without a successful run: a window is at most one hour, the maximum
  # alarm interval, and never longer than the schedule interval, so every run lands in one.
  lag_window_minutes = min(60, var.schedule_interval_minutes)
}

resource "oci_ons_notification_topic" "alarms" {
  compartment_id = var.compartment_id
  name           = "${var.name_prefix}-alarms"
  description    = "Alarms of the kms-key-backup function."
  freeform_tags  = var.freeform_tags
}

resource "oci_ons_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  compartment_id = var.compartment_id
  topic_id       = oci_ons_notification_topic.alarms.id
  protocol       = "EMAIL"
  endpoint       = var.alarm_email
  freeform_tags  = var.freeform_tags
}

resource "oci_monitoring_alarm" "failed_keys" {
  count = local.metrics_enabled ? 1 : 0

  compartment_id        = var.compartment_id
  display_name          = "${var.name_prefix}-failed-keys"
  is_enabled            = true
  severity              = "CRITICAL"
  metric_compartment_id = local.metrics_compartment_id
  namespace             = var.metrics_namespace
  query                 = "${var.failed_keys_metric_name}[5m].sum() > 0"
  pending_duration      = "PT1M"
  destinations          = [oci_ons_notification_topic.alarms.id]
  message_format        = "ONS_OPTIMIZED"
  body                  = "A kms-key-backup run failed to copy at least one key. The function's invocation log and run report name each failed key and the reason."
  freeform_tags         = var.freeform_tags
}

# absent() is 1 for each window without a datapoint. The alarm fires when that lasts for one more
# schedule interval (pending_duration), that is, when no successful run was posted for about twice
# the schedule interval. The absence detection period (3 days, the maximum) is longer than any lag
# this fires on, so the statistic keeps reporting until the alarm fires.
resource "oci_monitoring_alarm" "replication_lag" {
  count = local.metrics_enabled ? 1 : 0

  compartment_id        = var.compartment_id
  display_name          = "${var.name_prefix}-replication-lag"
  is_enabled            = true
  severity              = "WARNING"
  metric_compartment_id = local.metrics_compartment_id
  namespace             = var.metrics_namespace
  query                 = "${var.successful_runs_metric_name}[${local.lag_window_minutes}m].absent(3d)"
  pending_duration      = "PT${var.schedule_interval_minutes}M"
  destinations          = [oci_ons_notification_topic.alarms.id]
  message_format        = "ONS_OPTIMIZED"
  body                  = "No successful kms-key-backup run in about twice the schedule interval: the target vaults may lag behind the source vault."
  freeform_tags         = var.freeform_tags
}
