"""The doctor canary: prove the copy path on throwaway keys, then schedule their deletion.

``run_canary`` creates a SOFTWARE AES key and a SOFTWARE RSA key in the source vault and rotates
the AES key once. It copies both with the normal engine to every target of the job and checks
the engine's verification. Then it schedules the deletion of every throwaway key on both sides
with the shortest window OCI allows. With ``probe=True`` it also runs the live behaviour probes
(``kms_key_backup.probes``) on the same keys before the deletion.

The canary touches only keys it created: they carry the display name prefix
``kms-key-backup-canary-`` and the freeform tag ``kms-key-backup-canary: <run id>``, which the
engine copies onto the target keys. Every step records the API operation, the IAM permissions
it exercises and the outcome, and the first failed step becomes the verdict.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import oci
from oci.key_management.models import CreateKeyDetails, KeyShape, ScheduleKeyDeletionDetails

from kms_key_backup import permissions
from kms_key_backup.clients import ClientFactory, VaultRecord
from kms_key_backup.copy import wait_for_state, wait_until_enabled
from kms_key_backup.engine import run_job
from kms_key_backup.errors import KmsBackupError
from kms_key_backup.inventory import list_all
from kms_key_backup.job import Job, parse_job
from kms_key_backup.report import Report

LOG = logging.getLogger(__name__)

CANARY_TAG = "kms-key-backup-canary"
DISPLAY_NAME_PREFIX = "kms-key-backup-canary-"

# OCI accepts a time of deletion 7 to 30 days after it receives the request (ScheduleKeyDeletion,
# oci 2.189.0 ScheduleKeyDeletionDetails). Ten minutes more than the minimum keep a request
# whose clock runs a little behind the service's from being rejected.
DELETION_WINDOW = datetime.timedelta(days=7, minutes=10)

# Key shapes in bytes: AES-256 and RSA-2048, OCI's smallest RSA shape, because the canary proves the
# path and not a key size.
AES_LENGTH = 32
RSA_LENGTH = 256

OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass
class Step:
    """One call of the canary, the permissions it exercises and its outcome."""

    name: str
    operation: str
    vault: str
    permissions: list[str]
    grant: str
    outcome: str = OK
    detail: str = ""
    status: int | None = None
    code: str | None = None
    opc_request_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"step": self.name, "operation": self.operation, "vault": self.vault,
                "permissions": list(self.permissions), "grant": self.grant, "outcome": self.outcome,
                "detail": self.detail}
        if self.status is not None:
            data.update({"status": self.status, "code": self.code, "opc_request_id": self.opc_request_id})
        return data

    def failure_sentence(self) -> str:
        """Name the failed call, the service's status and code, and the permission it needs."""
        answer = f"{self.status} {self.code}" if self.status is not None else self.detail
        needs = permissions.OperationPermissions(self.operation, tuple(self.permissions), self.grant).describe()
        return f"{self.operation} in the {self.vault} vault failed ({answer}); it needs {needs}"


@dataclass
class ThrowawayKey:
    """A key the canary created (in the source) or the engine created from it (in a target)."""

    role: str  # "aes" or "rsa"
    key_id: str
    vault: VaultRecord
    vault_label: str
    display_name: str


@dataclass
class CanaryResult:
    """The steps, probe observations and verdict of one canary run."""

    run_id: str
    steps: list[Step] = field(default_factory=list)
    probes: list[dict[str, Any]] = field(default_factory=list)
    keys: list[ThrowawayKey] = field(default_factory=list)
    copy_report: dict[str, Any] | None = None

    @property
    def failed_steps(self) -> list[Step]:
        return [step for step in self.steps if step.outcome == FAILED]

    @property
    def passed(self) -> bool:
        return not self.failed_steps

    def verdict(self) -> str:
        if self.passed:
            return ("passed: throwaway keys were created, rotated, copied and verified, and their "
                    "deletion is scheduled in every vault")
        return "failed: " + self.failed_steps[0].failure_sentence()

    def to_dict(self) -> dict[str, Any]:
        data = {
            "run_id": self.run_id,
            "status": OK if self.passed else FAILED,
            "verdict": self.verdict(),
            "steps": [step.to_dict() for step in self.steps],
            "throwaway_keys": [{"role": key.role, "key_id": key.key_id, "vault": key.vault_label,
                                "vault_id": key.vault.id, "display_name": key.display_name}
                               for key in self.keys],
        }
        if self.probes:
            data["probes"] = list(self.probes)
        if self.copy_report is not None:
            data["copy_report"] = self.copy_report
        return data


class StepRunner:
    """Runs calls as named steps, turning OCI errors into failed steps instead of exceptions."""

    def __init__(self, result: CanaryResult):
        self.result = result

    def run(self, name: str, sdk_operation: str, vault_label: str, call: Callable[[], Any],
            detail: Callable[[Any], str] | None = None) -> Any:
        """Run ``call`` as one step; return its value, or None when it failed."""
        needed = permissions.for_operation(sdk_operation)
        step = Step(name=name, operation=needed.operation, vault=vault_label,
                    permissions=list(needed.permissions), grant=needed.grant)
        self.result.steps.append(step)
        try:
            value = call()
        except oci.exceptions.ServiceError as exc:
            exc.original_request = None  # an import request body contains a wrapped key
            step.outcome = FAILED
            step.status, step.code, step.opc_request_id = exc.status, exc.code, exc.request_id
            step.detail = str(exc.message)
            LOG.error("canary step %s failed: %s %s", name, exc.status, exc.code,
                      extra={"step": name, "operation": needed.operation, "opc_request_id": exc.request_id})
            return None
        except (KmsBackupError, oci.exceptions.MaximumWaitTimeExceeded) as exc:
            step.outcome = FAILED
            step.detail = str(exc)
            LOG.error("canary step %s failed: %s", name, exc, extra={"step": name})
            return None
        step.detail = detail(value) if detail else ""
        return value

    def skip(self, name: str, sdk_operation: str, vault_label: str, reason: str) -> None:
        needed = permissions.for_operation(sdk_operation)
        self.result.steps.append(Step(name=name, operation=needed.operation, vault=vault_label,
                                      permissions=list(needed.permissions), grant=needed.grant,
                                      outcome=SKIPPED, detail=reason))


def run_canary(factory: ClientFactory, job: Job, *, probe: bool = False, deep_verify: bool | None = None,
               run_id: str | None = None, now: Callable[[], datetime.datetime] | None = None) -> CanaryResult:
    """Run the canary against the job's source vault and targets and return its result.

    ``deep_verify`` overrides ``job.options.deep_verify`` for the copy. ``now`` returns the
    current UTC time, from which the time of deletion is counted.
    """
    run_id = run_id or uuid.uuid4().hex
    now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
    result = CanaryResult(run_id=run_id)
    steps = StepRunner(result)
    LOG.info("canary started", extra={"run_id": run_id, "source_vault_id": job.source.vault_id})

    vaults = _read_vaults(factory, job, steps)
    if vaults is not None:
        source_vault, target_vaults = vaults
        try:
            created = _create_keys(factory, job, source_vault, run_id, steps, result)
            if created is not None:
                _copy(factory, job, created, target_vaults, run_id, deep_verify, steps, result)
                if probe:
                    from kms_key_backup import probes
                    result.probes = probes.run_probes(factory, job, result, source_vault, target_vaults)
        finally:
            _schedule_deletions(factory, job, target_vaults, run_id, now, steps, result)

    LOG.info("canary finished: %s", result.verdict(), extra={"run_id": run_id, "passed": result.passed})
    return result


def _read_vaults(factory: ClientFactory, job: Job, steps: StepRunner):
    source = steps.run("read the source vault", "get_vault", "source",
                       lambda: _active(factory.get_vault(job.source.region, job.source.vault_id, refresh=True)),
                       lambda vault: f"{vault.display_name} is ACTIVE in {vault.region}")
    targets = []
    for index, target in enumerate(job.targets):
        label = f"targets[{index}]"
        vault = steps.run(f"read the {label} vault", "get_vault", label,
                          lambda target=target: _active(factory.get_vault(target.region, target.vault_id, refresh=True)),
                          lambda vault: f"{vault.display_name} is ACTIVE in {vault.region}")
        if vault is None:
            return None
        steps.run(f"read the {label} wrapping key", "get_wrapping_key", label,
                  lambda vault=vault: factory.get_wrapping_public_key(vault),
                  lambda pem: "the wrapping key is ENABLED")
        targets.append((label, vault))
    if source is None or steps.result.failed_steps:
        return None
    return source, targets


def _active(vault: VaultRecord) -> VaultRecord:
    if vault.lifecycle_state != "ACTIVE":
        raise KmsBackupError(f"vault {vault.id} is {vault.lifecycle_state}, not ACTIVE; wait until it is ACTIVE")
    return vault


def _create_keys(factory: ClientFactory, job: Job, source_vault: VaultRecord, run_id: str,
                 steps: StepRunner, result: CanaryResult) -> dict[str, ThrowawayKey] | None:
    """Create the AES and RSA keys and rotate the AES key once; return them by role."""
    management = factory.management_client(source_vault)
    compartment_id = job.source.compartment_ids[0] if job.source.compartment_ids else source_vault.compartment_id
    created: dict[str, ThrowawayKey] = {}

    for role, algorithm, length in (("aes", "AES", AES_LENGTH), ("rsa", "RSA", RSA_LENGTH)):
        display_name = f"{DISPLAY_NAME_PREFIX}{run_id[:12]}-{role}"
        details = CreateKeyDetails(compartment_id=compartment_id, display_name=display_name,
                                   key_shape=KeyShape(algorithm=algorithm, length=length),
                                   protection_mode="SOFTWARE", freeform_tags={CANARY_TAG: run_id})

        def create(details=details):
            response = management.create_key(details)
            # Recorded before the wait, so a key that never becomes ENABLED is still cleaned up.
            created_key = ThrowawayKey(role, response.data.id, source_vault, "source", details.display_name)
            result.keys.append(created_key)
            key_id = response.data.id
            wait_until_enabled(management, response, lambda: management.get_key(key_id), f"key {key_id}")
            return created_key

        key = steps.run(f"create the {algorithm} key", "create_key", "source", create,
                        lambda key: f"{key.display_name} ({key.key_id}) is ENABLED")
        if key is None:
            return None
        created[role] = key

    aes_id = created["aes"].key_id

    def rotate():
        response = management.create_key_version(aes_id)
        version_id = response.data.id
        wait_until_enabled(management, response, lambda: management.get_key_version(aes_id, version_id),
                           f"version {version_id}")
        wait_until_enabled(management, management.get_key(aes_id), lambda: management.get_key(aes_id),
                           f"key {aes_id}")
        return version_id

    if steps.run("rotate the AES key", "create_key_version", "source", rotate,
                 lambda version_id: f"version {version_id} is ENABLED and current") is None:
        return None
    return created


# The calls the engine makes while copying, in the order a reader meets them.
COPY_OPERATIONS = ("get_key", "list_key_versions", "get_key_version", "list_keys", "export_key", "import_key",
                   "import_key_version", "update_key")


def _copy(factory: ClientFactory, job: Job, created: dict[str, ThrowawayKey], target_vaults, run_id: str,
          deep_verify: bool | None, steps: StepRunner, result: CanaryResult) -> None:
    """Copy the throwaway keys with the engine, then record the copies and any failure as steps."""
    data = job.to_dict()
    data["selection"] = {"key_ids": sorted(key.key_id for key in created.values())}
    data["versions"] = {"mode": "all"}
    data["options"].update({"dry_run": False, "deadline_seconds": None})
    if deep_verify is not None:
        data["options"]["deep_verify"] = deep_verify
    canary_job = parse_job(data)

    report = run_job(canary_job, factory, run_id=run_id)
    result.copy_report = report.to_dict()
    _record_copies(report, created, target_vaults, result)
    _copy_steps(report, created, target_vaults, steps)


def _record_copies(report: Report, created: dict[str, ThrowawayKey], target_vaults, result: CanaryResult) -> None:
    by_vault_id = {vault.id: (label, vault) for label, vault in target_vaults}
    roles = {key.key_id: key for key in created.values()}
    for key in report.keys:
        for target in key.targets:
            if target.target_key_id and target.target_vault_id in by_vault_id:
                label, vault = by_vault_id[target.target_vault_id]
                source_key = roles[key.source_key_id]
                result.keys.append(ThrowawayKey(source_key.role, target.target_key_id, vault, label,
                                                source_key.display_name))


def _copy_steps(report: Report, created: dict[str, ThrowawayKey], target_vaults, steps: StepRunner) -> None:
    """Turn the engine's report into one step per operation it exercised, failures first."""
    labels = {vault.id: label for label, vault in target_vaults}
    calls = (report.calls or {}).get("by_operation", {})
    failures = _engine_failures(report, labels)

    for sdk_operation in COPY_OPERATIONS:
        count = calls.get(sdk_operation, 0)
        failure = failures.pop(sdk_operation, None)
        if failure is None and not count:
            continue
        needed = permissions.for_operation(sdk_operation)
        vault_label = failure["vault"] if failure else _vault_of(sdk_operation, target_vaults)
        step = Step(name="copy", operation=needed.operation, vault=vault_label,
                    permissions=list(needed.permissions), grant=needed.grant,
                    detail=f"{count} call(s) during the copy")
        if failure:
            step.outcome = FAILED
            step.status, step.code = failure.get("status"), failure.get("code")
            step.opc_request_id = failure.get("opc_request_id")
            step.detail = failure.get("message") or ""
        steps.result.steps.append(step)

    for failure in failures.values():
        steps.result.steps.append(Step(name="copy", operation=failure.get("operation") or "copy",
                                       vault=failure["vault"], permissions=[], grant="see the run report",
                                       outcome=FAILED, detail=failure.get("message") or "the copy failed"))

    _verification_step(report, created, labels, " and ".join(labels.values()), steps)


def _vault_of(sdk_operation: str, target_vaults) -> str:
    """Name the vaults where the engine makes a call: exports read the source, writes go to targets."""
    targets = " and ".join(label for label, _ in target_vaults)
    if sdk_operation == "export_key":
        return "source"
    if sdk_operation in ("get_key", "list_key_versions", "get_key_version"):
        return f"source and {targets}"
    return targets


def _engine_failures(report: Report, labels: dict[str, str]) -> dict[str, dict]:
    """Return the engine's failures by SDK operation, each with the vault it happened in."""
    failures: dict[str, dict] = {}
    if report.error:
        operation = report.error.get("operation") or report.error.get("step", "preflight")
        failures[operation] = {**report.error, "vault": "source or target"}
    for key in report.keys:
        if key.error:
            operation = key.error.get("operation") or "copy"
            failures.setdefault(operation, {**key.error, "vault": "source"})
        for target in key.targets:
            if target.error:
                operation = target.error.get("operation") or "copy"
                vault = "source" if operation == "export_key" else labels.get(target.target_vault_id, "target")
                failures.setdefault(operation, {**target.error, "vault": vault})
    for key in report.unsupported:
        failures.setdefault("copy", {"message": f"{key.source_key_id} was not copied: {key.reason}",
                                     "vault": "source"})
    return failures


def _verification_step(report: Report, created: dict[str, ThrowawayKey], labels: dict[str, str],
                       targets_label: str, steps: StepRunner) -> None:
    expected_versions = {"aes": 2, "rsa": 1}
    roles = {key.key_id: key.role for key in created.values()}
    problems = []
    checks = []
    for key in report.keys:
        role = roles.get(key.source_key_id, "?")
        for target in key.targets:
            label = labels.get(target.target_vault_id, "target")
            copied = target.versions_copied
            checks.extend(f"{role} version in {label}: {v.verification}" for v in copied)
            if len(copied) != expected_versions.get(role, 0):
                problems.append(f"{len(copied)} of {expected_versions.get(role)} {role.upper()} version(s) "
                                f"copied to {label}")
            problems.extend(f"{role.upper()} version {v.target_key_version_id} in {label} failed "
                            f"{v.verification}: {v.detail}" for v in copied if v.verified is not True)
    missing = {key.key_id for key in created.values()} - {key.source_key_id for key in report.keys}
    problems.extend(f"{roles[key_id].upper()} key was not copied" for key_id in sorted(missing))
    step = Step(name="verify the copies", operation="verification", vault=targets_label, permissions=[],
                grant="no extra permission unless deep_verify exports the copies (KEY_EXPORT in the target)",
                detail="; ".join(checks) or "nothing was copied")
    if problems:
        step.outcome = FAILED
        step.detail = "; ".join(problems)
    steps.result.steps.append(step)


def _schedule_deletions(factory: ClientFactory, job: Job, target_vaults, run_id: str,
                        now: Callable[[], datetime.datetime], steps: StepRunner, result: CanaryResult) -> None:
    """Schedule the deletion of every throwaway key.

    A failed OCI call or wait becomes a failed step, so one key's failure does not stop the others.
    """
    _find_untracked_copies(factory, job, target_vaults, run_id, result)
    for key in result.keys:
        management = factory.management_client(key.vault)

        def schedule(key=key, management=management):
            def fetch():
                return management.get_key(key.key_id)

            current = fetch()
            if current.data.lifecycle_state not in ("PENDING_DELETION", "SCHEDULING_DELETION"):
                if current.data.lifecycle_state not in ("ENABLED", "DISABLED"):
                    wait_until_enabled(management, current, fetch, f"key {key.key_id}")
                details = ScheduleKeyDeletionDetails(time_of_deletion=now() + DELETION_WINDOW)
                current = management.schedule_key_deletion(key.key_id, details)
            # SCHEDULING_DELETION is transitional: the step only passes once the key is
            # PENDING_DELETION, so the verdict reports the deletion as scheduled for certain.
            return wait_for_state(management, current, fetch, ("PENDING_DELETION",)).data

        steps.run(f"schedule deletion of the {key.role.upper()} key in the {key.vault_label} vault",
                  "schedule_key_deletion", key.vault_label, schedule,
                  lambda key_model, key=key: f"{key.key_id} is {key_model.lifecycle_state}, deleted on "
                                             f"{_format_time(key_model.time_of_deletion)}")


def _find_untracked_copies(factory: ClientFactory, job: Job, target_vaults, run_id: str,
                           result: CanaryResult) -> None:
    """Add copies an interrupted engine run created but did not report, found by the canary tag."""
    known = {key.key_id for key in result.keys}
    for (label, vault), target in zip(target_vaults, job.targets):
        try:
            summaries = list_all(factory.management_client(vault).list_keys, target.compartment_id, limit=100)
        except oci.exceptions.ServiceError as exc:
            LOG.warning("could not list %s for untracked canary copies: %s %s", vault.id, exc.status, exc.code)
            continue
        for summary in summaries:
            if (summary.freeform_tags or {}).get(CANARY_TAG) == run_id and summary.id not in known:
                role = "rsa" if summary.display_name.endswith("-rsa") else "aes"
                result.keys.append(ThrowawayKey(role, summary.id, vault, label, summary.display_name))


def _format_time(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
