"""Read-only re-check of existing copies (the ``verify`` subcommand).

For each selected source key and each target, the copy is found by its provenance tags. Its
versions, ordered by ``time_created``, are paired with the source versions that its
``kms_key_backup_copied_versions`` tag counts, taken in source order from the engine's own version plan. Each pair
is checked:

- RSA: the public keys are equal;
- AES: the copy's version is ENABLED (import integrity was checked by the vault at import time);
- with ``deep``: both versions are exported under a throwaway in-memory RSA key and the SHA-256
  digests of the materials are compared in constant time. These exports are the only calls that
  are not plain reads; they change nothing.
"""

from __future__ import annotations

from typing import Any

import oci

from kms_key_backup.clients import ClientFactory, VaultRecord, service_failure
from kms_key_backup.errors import KmsBackupError, ServiceFailure
from kms_key_backup.inventory import SourceKey, list_all, read_source_keys, read_target_copies
from kms_key_backup.job import Job
from kms_key_backup.plan import (TAG_COPIED_VERSIONS, SourceVersion, parse_copied_versions, plan_versions,
                                 unsupported_reason)
from kms_key_backup.verify import EphemeralWrappingKey, digests_equal, public_keys_equal

OK = "ok"
PARTIAL = "partial"
FAILED = "failed"


def recheck_copies(job: Job, factory: ClientFactory, deep: bool = False) -> dict[str, Any]:
    """Re-check every copy of the job's selected keys; return a JSON-ready report."""
    source_vault = factory.get_vault(job.source.region, job.source.vault_id)
    targets = [(target, factory.get_vault(target.region, target.vault_id)) for target in job.targets]
    inventory = read_source_keys(job, factory, source_vault)
    copies_by_target = [read_target_copies(job, factory, vault, target.compartment_id) for target, vault in targets]
    ephemeral_key = EphemeralWrappingKey() if deep else None

    keys = []
    for key in inventory.keys:
        entry: dict[str, Any] = {"source_key_id": key.id, "display_name": key.display_name, "targets": []}
        for (target, vault), copies in zip(targets, copies_by_target):
            result = {"target_region": target.region, "target_vault_id": target.vault_id}
            try:
                result.update(_recheck_key(job, factory, source_vault, vault, key, copies.get(key.id, []), ephemeral_key))
            except (ServiceFailure, KmsBackupError) as exc:
                result.update({"status": FAILED, "reason": str(exc)})
            entry["targets"].append(result)
        keys.append(entry)

    statuses = [result["status"] for entry in keys for result in entry["targets"]]
    if any(status == FAILED for status in statuses):
        status = FAILED
    elif any(status == PARTIAL for status in statuses):
        status = PARTIAL
    else:
        status = OK
    return {"status": status, "deep_verify": deep, "keys": keys}


def _versions(factory: ClientFactory, vault: VaultRecord, key_id: str) -> list[Any]:
    management = factory.management_client(vault)
    try:
        return list_all(management.list_key_versions, key_id, limit=100)
    except oci.exceptions.ServiceError as exc:
        raise service_failure("list_key_versions", key_id, exc) from exc


def _recheck_key(job: Job, factory: ClientFactory, source_vault: VaultRecord, target_vault: VaultRecord,
                 key: SourceKey, copies: list, ephemeral_key: EphemeralWrappingKey | None) -> dict[str, Any]:
    if not copies:
        # Sync never copies such a key, so advising to run it would send the user in a circle.
        unsupported = unsupported_reason(key.protection_mode, key.algorithm, key.lifecycle_state,
                                         job.options.wrapping_algorithm)
        if unsupported is not None:
            return {"status": PARTIAL, "reason": f"not copyable: {unsupported}"}
        return {"status": PARTIAL, "reason": "no copy in this target; run sync"}
    if len(copies) > 1:
        return {"status": FAILED, "reason": f"{len(copies)} copies of this key: {', '.join(c.id for c in copies)}"}
    copy = copies[0]
    copied = parse_copied_versions((copy.freeform_tags or {}).get(TAG_COPIED_VERSIONS))
    if copied is None:
        return {"status": FAILED, "target_key_id": copy.id, "reason": f"the copy lacks a valid {TAG_COPIED_VERSIONS} tag"}

    source_management = factory.management_client(source_vault)
    if not key.detailed:
        key = SourceKey.from_model(source_management.get_key(key.id).data, detailed=True)
    source_summaries = _versions(factory, source_vault, key.id)
    source_versions = [SourceVersion(s.id, s.lifecycle_state, s.time_created) for s in source_summaries]
    full_plan = plan_versions(source_versions, key.current_key_version or "", job.versions.mode,
                              job.versions.version_ids, None).to_copy
    if copied.last_source_key_version_id not in full_plan:
        return {"status": FAILED, "target_key_id": copy.id,
                "reason": f"the last copied version {copied.last_source_key_version_id} is not among the source's copyable versions"}
    copied_source_ids = full_plan[: full_plan.index(copied.last_source_key_version_id) + 1]
    target_versions = sorted(_versions(factory, target_vault, copy.id), key=lambda v: v.time_created)
    if len(copied_source_ids) != copied.count or len(target_versions) < copied.count:
        # NOTE: a source version disabled after it was copied shifts this pairing, so such a copy
        # is reported as unpairable instead of being checked against the wrong version.
        return {"status": FAILED, "target_key_id": copy.id,
                "reason": f"the tag records {copied.count} copied versions, but {len(copied_source_ids)} source and "
                          f"{len(target_versions)} target versions pair up; run sync or check the copy"}

    target_management = factory.management_client(target_vault)
    algorithm = key.algorithm
    checked = []
    for source_id, target_version in zip(copied_source_ids, target_versions):
        checked.append(_recheck_version(factory, source_vault, target_vault, source_management, target_management,
                                        key.id, source_id, copy.id, target_version, algorithm, ephemeral_key))
    newer = full_plan[len(copied_source_ids):]
    status = OK if all(v["ok"] for v in checked) else FAILED
    if status == OK and newer:
        status = PARTIAL
    return {"status": status, "target_key_id": copy.id, "versions": checked, "versions_not_copied_yet": newer}


def _recheck_version(factory, source_vault, target_vault, source_management, target_management, source_key_id,
                     source_version_id, target_key_id, target_version, algorithm, ephemeral_key) -> dict[str, Any]:
    result: dict[str, Any] = {"source_key_version_id": source_version_id, "target_key_version_id": target_version.id}
    try:
        if algorithm == "RSA":
            source_pem = source_management.get_key_version(source_key_id, source_version_id).data.public_key
            target_pem = target_management.get_key_version(target_key_id, target_version.id).data.public_key
            result["check"] = "rsa_public_key_equal"
            result["ok"] = public_keys_equal(source_pem, target_pem)
        else:
            result["check"] = "import_integrity"
            result["ok"] = target_version.lifecycle_state == "ENABLED"
        if ephemeral_key is not None and result["ok"]:
            result["check"] = "deep_digest_equal"
            source_digest = _digest(factory, source_vault, source_key_id, source_version_id, ephemeral_key)
            target_digest = _digest(factory, target_vault, target_key_id, target_version.id, ephemeral_key)
            result["ok"] = digests_equal(source_digest, target_digest)
    except oci.exceptions.ServiceError as exc:
        result.update({"ok": False, "reason": f"{exc.status} {exc.code} (opc-request-id {exc.request_id})"})
    return result


def _digest(factory: ClientFactory, vault: VaultRecord, key_id: str, key_version_id: str,
            ephemeral_key: EphemeralWrappingKey) -> bytes:
    details = oci.key_management.models.ExportKeyDetails(
        key_id=key_id, key_version_id=key_version_id, algorithm="RSA_OAEP_AES_SHA256", public_key=ephemeral_key.public_pem())
    exported = factory.crypto_client(vault).export_key(details).data
    return ephemeral_key.material_digest(exported.encrypted_key, "RSA_OAEP_AES_SHA256")
