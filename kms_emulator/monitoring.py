"""OCI Monitoring ingestion (`MonitoringClient.post_metric_data`) for the emulator.

Datapoints are validated as the service documents (namespace spelling, timestamps less than two
hours old and at most ten minutes ahead) and kept for the admin API's `GET metrics`.
"""

import re
import time

from . import errors
from .models import parse_time

# Custom namespaces start with a letter, contain lowercase letters, digits and underscores, and may
# not use the reserved prefixes oci_ and oracle_.
_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")
_MAX_AGE_SECONDS = 2 * 3600
_MAX_AHEAD_SECONDS = 10 * 60


def _problem(item: dict, now: float) -> str | None:
    namespace = item.get("namespace")
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace) or namespace.startswith(("oci_", "oracle_")):
        return f"namespace {namespace!r} is invalid; use lowercase letters, digits and underscores, not starting with oci_ or oracle_."
    for name in ("compartmentId", "name"):
        if not item.get(name):
            return f"{name} is required."
    datapoints = item.get("datapoints")
    if not isinstance(datapoints, list) or not datapoints:
        return "datapoints must be a non-empty list."
    for datapoint in datapoints:
        if not isinstance(datapoint.get("value"), (int, float)):
            return f"datapoint value {datapoint.get('value')!r} is not a number."
        try:
            stamp = parse_time(datapoint.get("timestamp"), "timestamp")
        except errors.ServiceError as exc:
            return exc.message
        if stamp < now - _MAX_AGE_SECONDS or stamp > now + _MAX_AHEAD_SECONDS:
            return f"datapoint timestamp {datapoint['timestamp']} is more than two hours old or ten minutes ahead."
    return None


def accept_metric_data(backend, call):
    metric_data = call.body.get("metricData")
    if not isinstance(metric_data, list) or not metric_data:
        raise errors.InvalidParameter("metricData must be a non-empty list of metric objects.")
    now = time.time()
    failed, accepted = [], []
    for item in metric_data:
        if not isinstance(item, dict):
            raise errors.InvalidParameter(f"metricData item {item!r} is not an object.")
        if item.get("compartmentId"):
            backend.check_compartment(call.principal, item["compartmentId"], "metricData.compartmentId")
        problem = _problem(item, now)
        if problem:
            failed.append({"message": problem, "metricData": item})
            continue
        accepted.append({**item, "region": call.region, "tenancy_id": call.principal.tenancy_id})
    if failed and call.body.get("batchAtomicity") == "ATOMIC":
        raise errors.InvalidParameter(f"{len(failed)} metric(s) are invalid and batchAtomicity is ATOMIC: {failed[0]['message']}")
    backend.metrics.extend(accepted)
    return 200, {"failedMetricsCount": len(failed), "failedMetrics": failed}, {}
