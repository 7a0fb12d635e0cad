"""Inventory: the selected source keys and the copies that already exist in each target.

A sweep with nothing new must stay near one source read per key. The inventory therefore reads
key summaries with ``list_keys``, which carry protection mode, algorithm, state and freeform
tags, and calls ``get_key`` only for keys that can be copied.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import oci

from kms_key_backup.clients import ClientFactory, VaultRecord, list_all, service_failure
from kms_key_backup.job import Job
from kms_key_backup.plan import DELETION_STATES, is_copy_of

LOG = logging.getLogger(__name__)

# NOTE: the SDK does not document the maximum page size of the KMS list calls; 100 is a size
# the list calls of OCI services commonly accept.
LIST_PAGE_LIMIT = 100


@dataclass
class SourceKey:
    """A selected source key, from its summary or from ``get_key``."""

    id: str
    display_name: str
    compartment_id: str
    protection_mode: str
    algorithm: str | None
    lifecycle_state: str
    freeform_tags: dict = field(default_factory=dict)
    defined_tags: dict = field(default_factory=dict)
    vault_id: str | None = None
    length: int | None = None           # from get_key only, in bytes
    curve_id: str | None = None         # from get_key only
    current_key_version: str | None = None  # from get_key only
    detailed: bool = False

    @classmethod
    def from_model(cls, model, detailed: bool) -> "SourceKey":
        shape = getattr(model, "key_shape", None)
        algorithm = shape.algorithm if shape is not None else getattr(model, "algorithm", None)
        return cls(id=model.id, display_name=model.display_name, compartment_id=model.compartment_id,
                   protection_mode=model.protection_mode, algorithm=algorithm,
                   lifecycle_state=model.lifecycle_state, freeform_tags=dict(model.freeform_tags or {}),
                   defined_tags=dict(model.defined_tags or {}), vault_id=model.vault_id,
                   length=shape.length if shape is not None else None,
                   curve_id=shape.curve_id if shape is not None else None,
                   current_key_version=getattr(model, "current_key_version", None), detailed=detailed)


@dataclass
class SourceInventory:
    keys: list[SourceKey]
    missing_key_ids: list[dict]  # {"key_id", "reason"} for key_ids not found in the source vault
    reconciliation: dict | None


def read_source_keys(job: Job, factory: ClientFactory, vault: VaultRecord) -> SourceInventory:
    """List the selected keys of the source vault, exclusions applied.

    With only ``key_ids`` selected, each key is read with ``get_key`` and nothing is listed.
    Otherwise every key of the source compartments is listed, and when the selection takes every
    key, the count is reconciled with ``get_vault_usage``.
    """
    management = factory.management_client(vault)
    selection = job.selection
    keys: dict[str, SourceKey] = {}
    missing: list[dict] = []
    reconciliation = None

    only_ids = bool(selection.key_ids) and not (selection.display_names or selection.freeform_tags)
    if not only_ids:
        compartments = job.source.compartment_ids or (vault.compartment_id,)
        for compartment_id in compartments:
            try:
                summaries = list_all(management.list_keys, compartment_id, limit=LIST_PAGE_LIMIT)
            except oci.exceptions.ServiceError as exc:
                raise service_failure("list_keys", compartment_id, exc) from exc
            for summary in summaries:
                if summary.vault_id not in (None, vault.id):
                    continue
                if selection.is_excluded(summary.id, summary.display_name):
                    continue
                if selection.matches(summary.id, summary.display_name, summary.freeform_tags):
                    keys[summary.id] = SourceKey.from_model(summary, detailed=False)
        if selection.selects_everything:
            reconciliation = _reconcile(factory, vault, keys.values(), compartments)

    for key_id in selection.key_ids:
        if key_id in keys or key_id in selection.exclude_key_ids:
            continue
        try:
            key = management.get_key(key_id).data
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                missing.append({"key_id": key_id, "reason": "not found in the source vault, or not readable"})
                continue
            raise service_failure("get_key", key_id, exc) from exc
        if key.vault_id != vault.id:
            missing.append({"key_id": key_id, "reason": f"belongs to vault {key.vault_id}, not the source vault"})
            continue
        if selection.is_excluded(key.id, key.display_name):
            continue
        keys[key.id] = SourceKey.from_model(key, detailed=True)

    return SourceInventory(keys=sorted(keys.values(), key=lambda k: k.id), missing_key_ids=missing,
                           reconciliation=reconciliation)


def _reconcile(factory: ClientFactory, vault: VaultRecord, keys, compartments) -> dict:
    """Compare the software keys listed with the vault's own count.

    NOTE: which lifecycle states ``software_key_count`` includes is not documented; this counts
    listed software keys that are not being deleted, so a difference can also come from keys in
    deletion.
    """
    listed = sum(1 for key in keys if key.protection_mode == "SOFTWARE" and key.lifecycle_state not in DELETION_STATES)
    try:
        usage = factory.vault_client(vault.region).get_vault_usage(vault.id).data
    except oci.exceptions.ServiceError as exc:
        LOG.warning("get_vault_usage failed on %s: %s %s", vault.id, exc.status, exc.code,
                    extra={"vault_id": vault.id, "opc_request_id": exc.request_id})
        return {"checked": False, "reason": f"get_vault_usage failed: {exc.status} {exc.code}"}
    unseen = max(0, (usage.software_key_count or 0) - listed)
    result = {"checked": True, "software_key_count": usage.software_key_count,
              "software_keys_listed": listed, "software_keys_not_seen": unseen,
              "compartments_searched": list(compartments)}
    if unseen:
        result["fix"] = ("the vault holds software keys outside the compartments searched; "
                         "add their compartments to source.compartment_ids")
    return result


def read_target_copies(job: Job, factory: ClientFactory, vault: VaultRecord,
                       compartment_id: str) -> dict[str, list]:
    """Map each source key OCID to the live target keys whose provenance tags name it.

    Keys in deletion are left out: a copy the user deleted is gone, and a later run makes a new one.
    """
    management = factory.management_client(vault)
    try:
        summaries = list_all(management.list_keys, compartment_id, limit=LIST_PAGE_LIMIT)
    except oci.exceptions.ServiceError as exc:
        raise service_failure("list_keys", compartment_id, exc) from exc
    copies: dict[str, list] = {}
    for summary in summaries:
        source_key_id = is_copy_of(summary.freeform_tags, job)
        if source_key_id and summary.lifecycle_state not in DELETION_STATES:
            copies.setdefault(source_key_id, []).append(summary)
    return copies
