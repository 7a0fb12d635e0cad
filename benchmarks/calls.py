"""Calls per operation and the throttle bound of a run, counted from the emulator's call log.

OCI Vault limits each tenancy to 10 requests a second per category of call: management reads,
management writes and provisioning calls, as the docstrings of ``oci`` 2.189.0's KMS clients
state. NOTE: those docstrings give no limit for ImportKey, ImportKeyVersion, GetWrappingKey or
the crypto calls (ExportKey). The emulator and this bound count them as management writes,
management reads and a crypto category of the same 10 requests a second. The emulator enforces that limit with one token bucket per region, tenancy and category, so
the least time a run can take at that rate is, over every (region, category) bucket, the
largest of ``calls / requests_per_second``. That is the throttle bound.

The bound counts calls only. It leaves out what a real run also spends: the per-call latency
(100 ms in the benchmark), on which calls of one key wait in sequence, and the lifecycle waits,
in which a new key or version is CREATING. Waiting adds polls (GetKey and GetKeyVersion
calls, which the bound does count as management reads) and sleeps between them (which it does
not). Answers of 429 TooManyRequests are left out of the bound: a run that never needed them
would have been faster, not slower.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

VAULT_CATEGORIES = ("management_read", "management_write", "crypto", "provisioning")
THROTTLED = 429


@dataclass
class CallStats:
    """Counts from the call log of one measured run."""

    total: int
    vault_calls: int
    by_operation: Counter
    by_bucket: Counter  # (region, category) -> calls with a response other than 429
    throttled: int
    failed: int  # responses of 400 or more other than 429, and dropped connections
    bound_seconds: float
    bound_bucket: tuple | None

    def operations_table(self) -> list[tuple[str, int]]:
        return sorted(self.by_operation.items(), key=lambda item: (-item[1], item[0]))

    def source_reads(self, source_region: str) -> int:
        """Return the source region's read calls with a response: management reads and provisioning calls."""
        return (self.by_bucket[(source_region, "management_read")]
                + self.by_bucket[(source_region, "provisioning")])

    def calls_of(self, *operations: str) -> int:
        return sum(self.by_operation[name] for name in operations)


def analyse(calls: list[dict], requests_per_second: float) -> CallStats:
    """Count a call log and compute its throttle bound at ``requests_per_second`` per bucket."""
    by_operation: Counter = Counter()
    by_bucket: Counter = Counter()
    throttled = failed = vault_calls = 0
    for call in calls:
        by_operation[call["operation"]] += 1
        if call["category"] in VAULT_CATEGORIES:
            vault_calls += 1
        status = call.get("status") or 0
        if status == THROTTLED:
            throttled += 1
            continue
        if status == 0 or status >= 400:
            failed += 1
        if call["category"] in VAULT_CATEGORIES:
            by_bucket[(call.get("region"), call["category"])] += 1

    bound_bucket = max(by_bucket, key=lambda bucket: by_bucket[bucket]) if by_bucket else None
    bound_seconds = by_bucket[bound_bucket] / requests_per_second if bound_bucket else 0.0
    return CallStats(total=len(calls), vault_calls=vault_calls, by_operation=by_operation, by_bucket=by_bucket,
                     throttled=throttled, failed=failed, bound_seconds=bound_seconds, bound_bucket=bound_bucket)
