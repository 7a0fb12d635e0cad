"""The run report: what a run did, per key and target, as JSON-ready data.

A report contains OCIDs, names, states, reasons, counts and opc-request-ids. It contains no key
material and no wrapped key blob, because the copy step keeps those in local variables only.
"""

from __future__ import annotations

import dataclasses

import datetime
import threading
from dataclasses import dataclass, field
from typing import Any

OK = "ok"
PARTIAL = "partial"
FAILED = "failed"

# Actions of a key and target pair.
CREATE = "create"                    # the target has no copy: import the key, then later versions
IMPORT_VERSIONS = "import_versions"  # the copy exists and misses newer source versions
NOTHING = "nothing"                  # the copy is current
UNSUPPORTED = "unsupported"          # the key cannot be copied; reason attached


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class VersionResult:
    """One source version copied to one target, and how the copy was verified."""

    source_key_version_id: str
    target_key_version_id: str | None = None
    verification: str | None = None  # rsa_public_key_equal | import_integrity | deep_digest_equal
    verified: bool | None = None
    recovered: bool = False  # found in the target after an interrupted run, not imported now
    detail: str | None = None

    def to_dict(self) -> dict:
        data = {"source_key_version_id": self.source_key_version_id,
                "target_key_version_id": self.target_key_version_id,
                "verification": self.verification, "verified": self.verified}
        if self.recovered:
            data["recovered"] = True
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass
class TargetResult:
    """The outcome of one source key in one target vault."""

    target_region: str
    target_vault_id: str
    action: str
    target_key_id: str | None = None
    versions_copied: list[VersionResult] = field(default_factory=list)
    versions_already_copied: int = 0
    versions_skipped: list[dict] = field(default_factory=list)  # {"key_version_id", "reason"}
    versions_left: list[str] = field(default_factory=list)      # not started before the deadline
    versions_planned: list[str] = field(default_factory=list)   # dry run: what a real run would copy
    reason: str | None = None
    error: dict | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or any(v.verified is False for v in self.versions_copied)

    @property
    def incomplete(self) -> bool:
        return bool(self.versions_skipped or self.versions_left or self.action == UNSUPPORTED)

    def to_dict(self) -> dict:
        data: dict[str, Any] = {
            "target_region": self.target_region, "target_vault_id": self.target_vault_id,
            "action": self.action, "target_key_id": self.target_key_id,
            "versions_copied": [v.to_dict() for v in self.versions_copied],
            "versions_already_copied": self.versions_already_copied,
            "versions_skipped": list(self.versions_skipped),
            "versions_left": list(self.versions_left),
        }
        if self.versions_planned:
            data["versions_planned"] = list(self.versions_planned)
        if self.reason:
            data["reason"] = self.reason
        if self.error:
            data["error"] = self.error
        return data


@dataclass
class KeyResult:
    """The outcome of one source key across every target."""

    source_key_id: str
    display_name: str | None = None
    algorithm: str | None = None
    protection_mode: str | None = None
    compartment_id: str | None = None
    reason: str | None = None  # why the key was not copied at all
    targets: list[TargetResult] = field(default_factory=list)
    error: dict | None = None

    def to_dict(self) -> dict:
        data: dict[str, Any] = {
            "source_key_id": self.source_key_id, "display_name": self.display_name,
            "algorithm": self.algorithm, "protection_mode": self.protection_mode,
            "compartment_id": self.compartment_id,
            "targets": [t.to_dict() for t in self.targets],
        }
        if self.reason:
            data["reason"] = self.reason
        if self.error:
            data["error"] = self.error
        return data


@dataclass
class Report:
    """The report of one run; ``status`` is ``ok``, ``partial`` or ``failed``."""

    run_id: str
    dry_run: bool = False
    time_started: str = field(default_factory=utc_now)
    time_finished: str | None = None
    keys: list[KeyResult] = field(default_factory=list)
    unsupported: list[KeyResult] = field(default_factory=list)
    keys_left: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: dict | None = None
    deadline_reached: bool = False
    reconciliation: dict | None = None
    calls: dict | None = None
    keys_in_flight: set[str] = field(default_factory=set, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def start_key(self, key_id: str) -> None:
        with self._lock:
            self.keys_in_flight.add(key_id)

    def add_key(self, result: KeyResult) -> None:
        with self._lock:
            self.keys_in_flight.discard(result.source_key_id)
            if result.reason:
                self.unsupported.append(result)
            else:
                self.keys.append(result)

    def add_left(self, key_id: str) -> None:
        with self._lock:
            self.keys_left.append(key_id)

    def add_warning(self, message: str) -> None:
        with self._lock:
            self.warnings.append(message)

    @property
    def status(self) -> str:
        if self.error is not None:
            return FAILED
        pairs = [t for k in self.keys for t in k.targets]
        failures = [t for t in pairs if t.failed] + [k for k in self.keys if k.error]
        if pairs and len(failures) >= len(pairs) and not any(t.versions_copied for t in pairs):
            return FAILED
        if failures or self.unsupported or self.keys_left or self.deadline_reached \
                or any(t.incomplete for t in pairs):
            return PARTIAL
        return OK

    def counts(self) -> dict:
        pairs = [t for k in self.keys for t in k.targets]
        return {
            "keys_selected": len(self.keys) + len(self.unsupported) + len(self.keys_left),
            "keys_unsupported": len(self.unsupported),
            "keys_left": len(self.keys_left),
            "keys_created": sum(1 for t in pairs if t.action == CREATE and t.target_key_id and not self.dry_run),
            "keys_current": sum(1 for t in pairs if t.action == NOTHING),
            "keys_failed": sum(1 for t in pairs if t.failed) + sum(1 for k in self.keys if k.error),
            "versions_copied": sum(len([v for v in t.versions_copied if not v.recovered]) for t in pairs),
            "versions_recovered": sum(len([v for v in t.versions_copied if v.recovered]) for t in pairs),
            "versions_verified": sum(1 for t in pairs for v in t.versions_copied if v.verified),
            "versions_skipped": sum(len(t.versions_skipped) for t in pairs),
            "versions_left": sum(len(t.versions_left) for t in pairs),
            "versions_planned": sum(len(t.versions_planned) for t in pairs),
        }

    def snapshot(self) -> dict:
        """Return the report of a run that is still going, for an answer that cannot wait for it.

        Finished keys are reported as usual. Keys still being copied are listed under
        ``keys_in_flight``: their calls go on after the answer, and the next run either finds them
        copied or finishes them.
        """
        with self._lock:
            early = dataclasses.replace(
                self, keys=list(self.keys), unsupported=list(self.unsupported), keys_left=list(self.keys_left),
                warnings=list(self.warnings), deadline_reached=True, keys_in_flight=set(),
                _lock=threading.Lock())
            in_flight = sorted(self.keys_in_flight)
        data = early.to_dict()
        data["keys_in_flight"] = in_flight
        data["counts"]["keys_in_flight"] = len(in_flight)
        data["counts"]["keys_selected"] += len(in_flight)
        if data["status"] == OK:
            data["status"] = PARTIAL
        return data

    def to_dict(self) -> dict:
        with self._lock:
            data: dict[str, Any] = {
                "run_id": self.run_id,
                "status": self.status,
                "dry_run": self.dry_run,
                "time_started": self.time_started,
                "time_finished": self.time_finished,
                "deadline_reached": self.deadline_reached,
                "counts": self.counts(),
                "keys": [k.to_dict() for k in sorted(self.keys, key=lambda k: k.source_key_id)],
                "unsupported": [k.to_dict() for k in sorted(self.unsupported, key=lambda k: k.source_key_id)],
                "keys_left": sorted(self.keys_left),
                "warnings": list(self.warnings),
            }
            if self.reconciliation is not None:
                data["reconciliation"] = self.reconciliation
            if self.calls is not None:
                data["calls"] = self.calls
            if self.error is not None:
                data["error"] = self.error
            return data
