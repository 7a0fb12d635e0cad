"""OCI Monitoring datapoints for a run: what was copied, what failed, how far copies lag.

Each run posts one datapoint per metric to a custom namespace (``kms_key_backup`` by default):

| metric | unit | meaning |
|---|---|---|
| ``versions_copied`` | count | key versions imported into a target this run |
| ``keys_failed`` | count | keys with a failed copy to at least one target |
| ``keys_partial`` | count | keys left incomplete, e.g. because the deadline came first |
| ``run_failed`` | 0 or 1 | 1 when the run as a whole failed |
| ``runs_succeeded`` | 1 | posted only by a run that finished with no failed key |
| ``run_duration_seconds`` | seconds | time from the start of the run to its report |
| ``replication_lag_seconds`` | seconds | age of the oldest source version not yet copied, 0 if none |

``replication_lag_seconds`` is posted only when the report says how old the versions still to
copy are, or when nothing is left to copy.

Dimensions: ``source_region``, ``source_vault_id`` and ``trigger``. ``runs_succeeded`` is posted
only on success so that an ``absent()`` alarm on it (the Terraform module's replication-lag alarm)
fires when runs stop succeeding, whatever the cause.

Posting is best effort: a failure is logged with its ``opc-request-id`` and never fails the run.
"""

import datetime
import logging
from dataclasses import dataclass
from typing import Any, Mapping

import oci

logger = logging.getLogger(__name__)

# Metrics are worth a short retry, not the minutes a key copy is worth: a run near its deadline
# must still answer in time, so posting gives up after 3 attempts or 10 seconds.
METRICS_RETRY_STRATEGY = oci.retry.RetryStrategyBuilder(
    max_attempts_check=True, max_attempts=3,
    total_elapsed_time_check=True, total_elapsed_time_seconds=10,
    retry_max_wait_between_calls_seconds=2, retry_base_sleep_time_seconds=0.5,
).get_retry_strategy()


@dataclass(frozen=True)
class RunMetrics:
    """The numbers one run reports to OCI Monitoring."""

    versions_copied: int
    keys_failed: int
    keys_partial: int
    run_failed: bool
    run_succeeded: bool
    """True when the run finished with no failed key; unsupported and unfinished keys allowed."""
    run_duration_seconds: float
    replication_lag_seconds: float | None
    """None when versions are left but the report gives no creation time for them."""

    def values(self) -> dict[str, float]:
        values = {
            "versions_copied": float(self.versions_copied),
            "keys_failed": float(self.keys_failed),
            "keys_partial": float(self.keys_partial),
            "run_failed": 1.0 if self.run_failed else 0.0,
            "run_duration_seconds": float(self.run_duration_seconds),
        }
        if self.run_succeeded:
            values["runs_succeeded"] = 1.0
        if self.replication_lag_seconds is not None:
            values["replication_lag_seconds"] = float(self.replication_lag_seconds)
        return values


def build_metric_data(metrics: RunMetrics, namespace: str, compartment_id: str,
                      dimensions: Mapping[str, str],
                      timestamp: datetime.datetime | None = None) -> list:
    """Return one ``MetricDataDetails`` per metric, each with one datapoint at ``timestamp``."""
    when = timestamp or datetime.datetime.now(datetime.timezone.utc)
    return [
        oci.monitoring.models.MetricDataDetails(
            namespace=namespace,
            compartment_id=compartment_id,
            name=name,
            dimensions=dict(dimensions),
            datapoints=[oci.monitoring.models.Datapoint(timestamp=when, value=value, count=1)],
        )
        for name, value in metrics.values().items()
    ]


def post_run_metrics(monitoring_client, metrics: RunMetrics, namespace: str,
                     compartment_id: str, dimensions: Mapping[str, str]) -> bool:
    """Post the run's datapoints; log and return False on any failure instead of raising.

    ``monitoring_client`` must point at the region's telemetry ingestion endpoint, which is the
    only one that serves PostMetricData.
    """
    details = oci.monitoring.models.PostMetricDataDetails(
        metric_data=build_metric_data(metrics, namespace, compartment_id, dimensions))
    try:
        response = monitoring_client.post_metric_data(details,
                                                      retry_strategy=METRICS_RETRY_STRATEGY)
    except oci.exceptions.ServiceError as exc:
        logger.warning("posting metrics failed", extra={
            "status": exc.status, "code": exc.code, "error": str(exc.message),
            "opc_request_id": exc.request_id, "namespace": namespace})
        return False
    # The SDK raises more than ServiceError when the endpoint is unreachable (requests'
    # connection errors, CircuitBreakerError, timeouts). Metrics must never fail the run, so any
    # of them is logged here and swallowed.
    except Exception as exc:  # noqa: BLE001
        logger.warning("posting metrics failed", extra={
            "error": f"{type(exc).__name__}: {exc}", "namespace": namespace})
        return False

    failed = response.data.failed_metrics_count if response.data is not None else 0
    if failed:
        messages = [item.message for item in (response.data.failed_metrics or [])][:3]
        logger.warning("monitoring rejected some metrics", extra={
            "failed_metrics_count": failed, "messages": messages,
            "opc_request_id": response.headers.get("opc-request-id")})
        return False

    logger.info("metrics posted", extra={
        "namespace": namespace, "metrics": len(details.metric_data),
        "opc_request_id": response.headers.get("opc-request-id")})
    return True


def run_metrics_from_report(report: Mapping[str, Any], duration_seconds: float,
                            now: datetime.datetime | None = None) -> RunMetrics:
    """Derive the run's metrics from a run report dictionary (``Report.to_dict()``)."""
    counts = report.get("counts") or {}
    keys = report.get("keys") or []

    partial_keys = 0
    pending = bool(report.get("keys_left"))
    for key in keys:
        targets = key.get("targets") or []
        failed = bool(key.get("error")) or any(target.get("error") for target in targets)
        incomplete = any(target.get("versions_left") or target.get("versions_skipped")
                         for target in targets)
        if incomplete and not failed:
            partial_keys += 1
        if failed or incomplete:
            pending = True

    keys_failed = int(counts.get("keys_failed", 0))
    run_failed = report.get("status") == "failed"
    return RunMetrics(
        versions_copied=int(counts.get("versions_copied", 0)),
        keys_failed=keys_failed,
        keys_partial=partial_keys + len(report.get("keys_left") or []),
        run_failed=run_failed,
        run_succeeded=not run_failed and keys_failed == 0,
        run_duration_seconds=duration_seconds,
        replication_lag_seconds=_replication_lag(report, pending, now),
    )


def _replication_lag(report: Mapping[str, Any], pending: bool,
                     now: datetime.datetime | None) -> float | None:
    if report.get("status") == "failed" or report.get("dry_run"):
        # A failed or dry run may not have looked at every key, so it cannot say that nothing
        # is left to copy.
        pending = True
    oldest = report.get("oldest_pending_version_time_created")
    if oldest:
        created = datetime.datetime.fromisoformat(oldest)
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return max(0.0, (now - created).total_seconds())
    # NOTE: without the creation time of the oldest version still to copy, a run that leaves
    # versions behind posts no lag datapoint rather than a made-up number.
    return None if pending else 0.0
