"""Resolve a Vault key event to the one key the function syncs, or to a no-op.

An event names a key or a key version in ``data.resourceId``. The function syncs only that key,
and only when the configured job selects it: the Events rule may deliver events for every vault
of a compartment, and the function must not copy keys its configuration leaves out.

Cost matters, because rotations are the frequent trigger. With the key's OCID in hand, no call is
needed here when the configuration names the key by OCID, or selects every key and excludes none
by name. The run reads the key anyway and reports a key of another vault as missing, and the
runtime turns that into a no-op. Otherwise one ``get_key`` on the source vault reads the key's vault,
compartment, name and tags. Only a key-version event that carries no key OCID makes the function
scan the configured selection, one ``get_key_version`` per candidate key (``scan_for_version``).

A key that the run reads by OCID is copied when it is in the source vault, whichever compartment
of the vault holds it: the configured compartments only say where a sweep lists keys.
"""

import logging
from dataclasses import dataclass

import oci

from kms_key_backup.clients import ClientFactory, VaultRecord, list_all, service_failure
from kms_key_backup.function.payload import KeyEvent
from kms_key_backup.job import Job

logger = logging.getLogger(__name__)

# Keys in these states hold no copyable material, or are on their way out.
_GONE_STATES = ("DELETING", "DELETED", "PENDING_DELETION", "SCHEDULING_DELETION")


@dataclass(frozen=True)
class EventDecision:
    """The decision on one event: sync ``key_id``, or do nothing for ``reason``."""

    key_id: str | None
    reason: str
    vault_checked: bool = False
    """True when this module read the key and saw it in the source vault."""

    @property
    def syncs(self) -> bool:
        return self.key_id is not None


def decide(event: KeyEvent, job: Job, factory: ClientFactory) -> EventDecision:
    """Return the key to sync for ``event`` under the configured ``job``, or why none is."""
    if not event.syncs_key:
        return EventDecision(None, f"event type {event.event_type} changes no key material")

    key_id = event.key_id
    if key_id is None:
        key_id = scan_for_version(event.key_version_id, job, factory)
        if key_id is None:
            return EventDecision(None, f"key version {event.key_version_id} belongs to no key "
                                       "of the configured selection in the source vault")

    selection = job.selection
    if key_id in selection.exclude_key_ids:
        return EventDecision(None, f"key {key_id} is excluded by the configuration")
    if key_id in selection.key_ids:
        return EventDecision(key_id, f"key {key_id} is named in the configuration")
    if selection.key_ids and not (selection.display_names or selection.freeform_tags):
        return EventDecision(None, f"key {key_id} is not among the configured key OCIDs")
    if selection.selects_everything and not selection.exclude_display_names:
        return EventDecision(key_id, "the configuration selects every software key")

    vault = factory.get_vault(job.source.region, job.source.vault_id)
    key = _get_key(factory, vault, key_id)
    if key is None:
        return EventDecision(None, f"key {key_id} is not in the source vault {vault.id}")
    return _decide_for_key(key, job, vault)


def scan_for_version(key_version_id: str, job: Job, factory: ClientFactory) -> str | None:
    """Find which configured key a key version belongs to, one call per candidate key.

    Candidates are the configured key OCIDs when the selection names keys only by OCID, and
    otherwise the software keys of the source compartments that the selection matches.
    """
    selection = job.selection
    vault = factory.get_vault(job.source.region, job.source.vault_id)
    client = factory.management_client(vault)

    if selection.key_ids and not (selection.display_names or selection.freeform_tags):
        candidates = [key_id for key_id in selection.key_ids
                      if key_id not in selection.exclude_key_ids]
    else:
        candidates = _selected_key_ids(job, vault, client)

    for key_id in candidates:
        try:
            client.get_key_version(key_id, key_version_id)
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                continue
            raise service_failure("get_key_version", key_version_id, exc) from exc
        logger.info("key version found by scan", extra={
            "key_id": key_id, "key_version_id": key_version_id, "candidates": len(candidates)})
        return key_id
    return None


def _selected_key_ids(job: Job, vault: VaultRecord, client) -> list[str]:
    compartment_ids = job.source.compartment_ids or (vault.compartment_id,)
    selected = []
    for compartment_id in compartment_ids:
        try:
            summaries = list_all(client.list_keys, compartment_id, protection_mode="SOFTWARE")
        except oci.exceptions.ServiceError as exc:
            raise service_failure("list_keys", compartment_id, exc) from exc
        for summary in summaries:
            if summary.vault_id != vault.id or summary.lifecycle_state in _GONE_STATES:
                continue
            tags = summary.freeform_tags or {}
            if job.selection.matches(summary.id, summary.display_name, tags) \
                    and not job.selection.is_excluded(summary.id, summary.display_name):
                selected.append(summary.id)
    return selected


def missing_from_report(report: dict, key_id: str) -> str | None:
    """Return why the run found no key ``key_id`` in the source vault, or None if it did.

    The engine lists a selected key OCID that the source vault does not hold under
    ``unsupported`` with a reason and without the fields it would have read from the key.
    """
    if report.get("keys"):
        return None
    for entry in report.get("unsupported") or []:
        if entry.get("source_key_id") == key_id and entry.get("display_name") is None \
                and entry.get("protection_mode") is None:
            return entry.get("reason") or "not found in the source vault"
    return None


def _get_key(factory: ClientFactory, vault: VaultRecord, key_id: str):
    try:
        return factory.management_client(vault).get_key(key_id).data
    except oci.exceptions.ServiceError as exc:
        # A key of another vault is not found at this vault's management endpoint.
        if exc.status == 404:
            return None
        raise service_failure("get_key", key_id, exc) from exc


def _decide_for_key(key, job: Job, vault: VaultRecord) -> EventDecision:
    if key.vault_id != vault.id:
        return EventDecision(None, f"key {key.id} is in vault {key.vault_id}, not the source "
                                   f"vault {vault.id}")
    if job.selection.is_excluded(key.id, key.display_name):
        return EventDecision(None, f"key {key.id} is excluded by the configuration")
    if not job.selection.matches(key.id, key.display_name, key.freeform_tags or {}):
        return EventDecision(None, f"key {key.id} is not in the configured selection")
    return EventDecision(key.id, f"key {key.id} is in the configured selection",
                         vault_checked=True)
