"""The replication engine: preflight, inventory, plan, copy, verify, report.

``run_job`` takes a validated ``Job``, a ``ClientFactory`` and an optional deadline, and returns
a ``Report``. It raises nothing for failures of OCI calls or of single keys: those end up in the
report, whose status is ``ok``, ``partial`` or ``failed``. Keys are copied concurrently, up to
``options.concurrency`` at once; the versions of one key are copied strictly in order.
"""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import oci

from kms_key_backup.clients import ClientFactory, VaultRecord, service_failure
from kms_key_backup.copy import RunContext, SourceVersions, TargetCopier
from kms_key_backup.errors import KmsBackupError, PreflightError, ServiceFailure
from kms_key_backup.inventory import SourceKey, read_source_keys, read_target_copies
from kms_key_backup.job import Job, Target
from kms_key_backup.plan import unsupported_reason
from kms_key_backup.report import KeyResult, Report, TargetResult, UNSUPPORTED, utc_now

LOG = logging.getLogger(__name__)


class _TargetState:
    """A target vault as preflight and inventory found it."""

    def __init__(self, target: Target, vault: VaultRecord, wrapping_public_key: str):
        self.target = target
        self.vault = vault
        self.wrapping_public_key = wrapping_public_key
        self.copies: dict[str, list] = {}


def run_job(job: Job, factory: ClientFactory, deadline: float | None = None, run_id: str | None = None) -> Report:
    """Run a job and return its report.

    ``deadline`` is a ``time.monotonic()`` value after which no new key or version is started.
    ``options.deadline_seconds`` sets another one, counted from now, and the earlier one applies.
    """
    run_id = run_id or uuid.uuid4().hex
    report = Report(run_id=run_id, dry_run=job.options.dry_run)
    if job.options.deadline_seconds is not None:
        own_deadline = time.monotonic() + job.options.deadline_seconds
        deadline = own_deadline if deadline is None else min(deadline, own_deadline)
    factory.set_requests_per_second(job.options.requests_per_second)
    calls_before = factory.calls.snapshot()
    LOG.info("run started", extra={"run_id": run_id, "step": "start", "source_vault_id": job.source.vault_id,
                                   "dry_run": job.options.dry_run})

    step = "preflight"
    try:
        source_vault, targets = _preflight(job, factory, run_id)
        ctx = RunContext(job=job, factory=factory, run_id=run_id, source_vault=source_vault, deadline=deadline,
                         warn=report.add_warning)
        step = "inventory"
        inventory = _inventory(job, factory, source_vault, targets, report, run_id)
        _copy_all(ctx, inventory.keys, targets, report)
    except (PreflightError, ServiceFailure, KmsBackupError) as exc:
        step = "preflight" if isinstance(exc, PreflightError) else "inventory"
        report.error = {"step": step, "message": str(exc)}
        if isinstance(exc, ServiceFailure):
            report.error.update(exc.to_dict())
        LOG.error("run failed in %s: %s", step, exc, extra={"run_id": run_id, "step": step})
    except oci.exceptions.RequestException as exc:
        # A dropped connection or a timeout that outlasted the retries is not a ServiceError, so
        # it is reported here like one instead of escaping to the caller.
        report.error = {"step": step, "message": f"{type(exc).__name__}: {exc}"}
        LOG.error("run failed in %s: %s", step, exc, extra={"run_id": run_id, "step": step})

    report.time_finished = utc_now()
    report.calls = _calls_since(calls_before, factory.calls.snapshot())
    LOG.info("run finished with status %s", report.status,
             extra={"run_id": run_id, "step": "report", "status": report.status, "counts": report.counts()})
    return report


def _preflight(job: Job, factory: ClientFactory, run_id: str) -> tuple[VaultRecord, list[_TargetState]]:
    """Check that both vaults are ACTIVE in their regions and each target's wrapping key is readable."""
    source_vault = _active_vault(factory, job.source.region, job.source.vault_id, "source")
    targets = []
    for index, target in enumerate(job.targets):
        vault = _active_vault(factory, target.region, target.vault_id, f"targets[{index}]")
        targets.append(_TargetState(target, vault, factory.get_wrapping_public_key(vault)))
    LOG.info("preflight passed", extra={"run_id": run_id, "step": "preflight"})
    return source_vault, targets


def _active_vault(factory: ClientFactory, region: str, vault_id: str, role: str) -> VaultRecord:
    vault = factory.get_vault(region, vault_id)
    if vault.id != vault_id:
        raise PreflightError(f"get_vault of the {role} vault {vault_id} returned {vault.id}; check the vault OCID")
    if vault.lifecycle_state != "ACTIVE":
        # A cached record is only kept while ACTIVE, so this state is fresh.
        raise PreflightError(f"the {role} vault {vault_id} in {region} is {vault.lifecycle_state}, not ACTIVE; "
                             "wait until it is ACTIVE or choose another vault")
    return vault


def _inventory(job: Job, factory: ClientFactory, source_vault: VaultRecord, targets: list[_TargetState],
               report: Report, run_id: str):
    inventory = read_source_keys(job, factory, source_vault)
    report.reconciliation = inventory.reconciliation
    if inventory.reconciliation and inventory.reconciliation.get("software_keys_not_seen"):
        report.add_warning(
            f"{inventory.reconciliation['software_keys_not_seen']} software key(s) of the source vault were "
            "not listed; add their compartments to source.compartment_ids")
    for missing in inventory.missing_key_ids:
        report.add_key(KeyResult(source_key_id=missing["key_id"], reason=missing["reason"]))
    for state in targets:
        state.copies = read_target_copies(job, factory, state.vault, state.target.compartment_id)
    LOG.info("inventory found %d selected key(s)", len(inventory.keys),
             extra={"run_id": run_id, "step": "inventory", "keys": len(inventory.keys)})
    return inventory


def _copy_all(ctx: RunContext, keys: list[SourceKey], targets: list[_TargetState], report: Report) -> None:
    def work(key: SourceKey) -> None:
        if ctx.deadline_reached():
            report.deadline_reached = True
            # Keys the summary already shows as uncopyable cost no call, so they are still reported.
            reason = unsupported_reason(key.protection_mode, key.algorithm, key.lifecycle_state,
                                        ctx.job.options.wrapping_algorithm)
            if reason is None:
                report.add_left(key.id)
            else:
                report.add_key(KeyResult(source_key_id=key.id, display_name=key.display_name,
                                         algorithm=key.algorithm, protection_mode=key.protection_mode,
                                         compartment_id=key.compartment_id, reason=reason))
            return
        report.add_key(_copy_key(ctx, key, targets))

    with ThreadPoolExecutor(max_workers=ctx.job.options.concurrency,
                            thread_name_prefix=f"kms-key-backup-{ctx.run_id[:8]}") as pool:
        for future in [pool.submit(work, key) for key in keys]:
            future.result()
    if any(t.versions_left for k in report.keys for t in k.targets):
        report.deadline_reached = True


def _copy_key(ctx: RunContext, key: SourceKey, targets: list[_TargetState]) -> KeyResult:
    """Copy one source key to every target, recording failures in the result instead of raising them."""
    result = KeyResult(source_key_id=key.id, display_name=key.display_name, algorithm=key.algorithm,
                       protection_mode=key.protection_mode, compartment_id=key.compartment_id)
    wrapping_algorithm = ctx.job.options.wrapping_algorithm
    try:
        reason = unsupported_reason(key.protection_mode, key.algorithm, key.lifecycle_state, wrapping_algorithm)
        if reason is None and not key.detailed:
            key = _read_key(ctx, key)
            result.algorithm = key.algorithm
            reason = unsupported_reason(key.protection_mode, key.algorithm, key.lifecycle_state, wrapping_algorithm)
        if reason is not None:
            result.reason = reason
            _note_existing_copies(key, targets, result)
            LOG.info("skipped %s: %s", key.id, reason, extra=ctx.log_extra("plan", key_id=key.id))
            return result

        versions = SourceVersions(ctx, key)
        for state in targets:
            copier = TargetCopier(ctx, key, versions, state.target, state.vault, state.wrapping_public_key)
            result.targets.append(copier.run(state.copies.get(key.id, [])))
    except ServiceFailure as exc:
        result.error = exc.to_dict()
        LOG.error("copy of %s failed: %s", key.id, exc,
                  extra=ctx.log_extra("copy", key_id=key.id, opc_request_id=exc.opc_request_id))
    except Exception as exc:  # noqa: BLE001 - one key's bug must not stop the other keys
        result.error = {"message": f"{type(exc).__name__}: {exc}"}
        LOG.exception("copy of %s failed unexpectedly", key.id, extra=ctx.log_extra("copy", key_id=key.id))
    return result


def _read_key(ctx: RunContext, key: SourceKey) -> SourceKey:
    management = ctx.factory.management_client(ctx.source_vault)
    try:
        return SourceKey.from_model(management.get_key(key.id).data, detailed=True)
    except oci.exceptions.ServiceError as exc:
        raise service_failure("get_key", key.id, exc) from exc


def _note_existing_copies(key: SourceKey, targets: list[_TargetState], result: KeyResult) -> None:
    """Report copies of a key that can no longer be copied; they are kept, never deleted."""
    for state in targets:
        for copy in state.copies.get(key.id, []):
            result.targets.append(TargetResult(
                target_region=state.target.region, target_vault_id=state.target.vault_id, action=UNSUPPORTED,
                target_key_id=copy.id, reason=f"the source key is not copyable ({result.reason}); the copy is kept"))


def _calls_since(before: dict, after: dict) -> dict:
    calls = {}
    for group in ("by_operation", "by_category"):
        calls[group] = {name: count - before[group].get(name, 0) for name, count in after[group].items()
                        if count - before[group].get(name, 0)}
    return calls
