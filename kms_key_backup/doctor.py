"""Preflight checks of a job (the ``doctor`` subcommand): reads only, no export and no import.

Each check returns ``{"check", "ok", "detail"}``; a failed check does not stop the others, so one
run lists every problem.
"""

from __future__ import annotations

from typing import Any, Callable

import oci

from kms_key_backup.clients import ClientFactory, VaultRecord
from kms_key_backup.errors import KmsBackupError
from kms_key_backup.job import Job


def _run(name: str, check: Callable[[], str]) -> dict[str, Any]:
    try:
        return {"check": name, "ok": True, "detail": check()}
    except KmsBackupError as exc:
        return {"check": name, "ok": False, "detail": str(exc)}
    except oci.exceptions.ServiceError as exc:
        return {"check": name, "ok": False,
                "detail": f"{exc.status} {exc.code}: {exc.message} (opc-request-id {exc.request_id})"}


def run_checks(factory: ClientFactory, job: Job) -> list[dict[str, Any]]:
    """Check the source vault, its compartments, and each target vault, compartment and wrapping key."""
    checks: list[dict[str, Any]] = []
    vaults: dict[str, VaultRecord] = {}

    def vault_check(role: str, region: str, vault_id: str) -> Callable[[], str]:
        def check() -> str:
            vault = factory.get_vault(region, vault_id)
            if vault.lifecycle_state != "ACTIVE":
                raise KmsBackupError(f"vault {vault_id} is {vault.lifecycle_state}, not ACTIVE")
            vaults[vault_id] = vault
            return f"{role} vault {vault.display_name} is ACTIVE in {region}"
        return check

    def list_check(vault_id: str, compartment_id: str) -> Callable[[], str]:
        def check() -> str:
            if vault_id not in vaults:
                raise KmsBackupError("skipped: the vault check failed")
            factory.management_client(vaults[vault_id]).list_keys(compartment_id, limit=1)
            return f"keys of compartment {compartment_id} are listable"
        return check

    def wrapping_key_check(vault_id: str) -> Callable[[], str]:
        def check() -> str:
            if vault_id not in vaults:
                raise KmsBackupError("skipped: the vault check failed")
            factory.get_wrapping_public_key(vaults[vault_id])
            return "the wrapping key is ENABLED and readable"
        return check

    source = job.source
    checks.append(_run("source vault", vault_check("source", source.region, source.vault_id)))
    compartments = list(source.compartment_ids or [])
    if not compartments and source.vault_id in vaults:
        compartments = [vaults[source.vault_id].compartment_id]
    for compartment_id in compartments:
        checks.append(_run("source compartment", list_check(source.vault_id, compartment_id)))
    for index, target in enumerate(job.targets):
        role = f"targets[{index}]"
        checks.append(_run(f"{role} vault", vault_check("target", target.region, target.vault_id)))
        checks.append(_run(f"{role} wrapping key", wrapping_key_check(target.vault_id)))
        checks.append(_run(f"{role} compartment", list_check(target.vault_id, target.compartment_id)))
    return checks
