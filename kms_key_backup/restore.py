"""Restore: import an export file into any vault.

The blob of an export file is wrapped for the user's RSA key, not for a vault, so it is unwrapped
locally with the user's private key and re-wrapped under the target vault's wrapping key. The
material exists only in memory, between those two steps and during the deep verify that follows.
"""

from __future__ import annotations

import base64
import logging
import uuid
from typing import Any

import oci
from cryptography.hazmat.primitives.asymmetric import rsa

from kms_key_backup import keyexport, keywrap
from kms_key_backup.clients import list_all
from kms_key_backup.errors import InvalidInputError, KmsBackupError
from kms_key_backup.exportfile import ExportEnvelope
from kms_key_backup.plan import TAG_SOURCE_KEY_ID

logger = logging.getLogger(__name__)

# Freeform tags that record where a restored key came from. They differ from the provenance tags of
# sync on purpose: a restored key contains one version, so sync must not take it for a copy.
RESTORED_FROM_KEY_TAG = "kms_key_backup_restored_from_key_id"
RESTORED_FROM_VERSION_TAG = "kms_key_backup_restored_from_key_version_id"

# Upper bound of the wait for a restored key or version to become ENABLED.
ENABLED_WAIT_SECONDS = 300


_GONE_STATES = ("DELETING", "DELETED", "PENDING_DELETION", "SCHEDULING_DELETION")


def find_restored_key(access: keyexport.VaultAccess, compartment_id: str, key_version_id: str) -> Any | None:
    """Return the key of an earlier restore of `key_version_id` into this vault, found by its tag."""
    summaries = list_all(access.management.list_keys, compartment_id)
    for summary in summaries:
        tags = summary.freeform_tags or {}
        if tags.get(RESTORED_FROM_VERSION_TAG) == key_version_id and summary.lifecycle_state not in _GONE_STATES:
            return access.management.get_key(summary.id).data
    return None


def _reject_sync_copy(access: keyexport.VaultAccess, key_id: str) -> None:
    """Raise ``InvalidInputError`` if `key_id` is a copy that sync keeps current.

    Sync pairs a copy's versions with the source's by their count, so one more version would
    make it stop syncing that key until the copy is deleted.
    """
    tags = access.management.get_key(key_id).data.freeform_tags or {}
    source_key_id = tags.get(TAG_SOURCE_KEY_ID)
    if source_key_id is not None:
        raise InvalidInputError(
            "--key-id", key_id,
            f"the key is the copy that sync keeps of {source_key_id}, and a restored version would stop sync "
            "for it",
            "Restore into a new key with --compartment-id instead.",
        )


def restore_export(
    access: keyexport.VaultAccess,
    envelope: ExportEnvelope,
    private_key: rsa.RSAPrivateKey,
    *,
    compartment_id: str | None,
    display_name: str | None,
    protection_mode: str,
    target_key_id: str | None,
) -> dict[str, Any]:
    """Import the material of `envelope` into the vault of `access` and deep-verify the result.

    With `target_key_id` the material becomes a new version of that key (``import_key_version``);
    otherwise a new key is created in `compartment_id` (``import_key``).
    """
    inspection = keyexport.inspect_export(envelope, private_key)
    if not inspection["fingerprint_matches"]:
        raise InvalidInputError(
            "FILE", envelope.key_version_id,
            "the unwrapped material does not match the fingerprint recorded in the file; the file was altered, restore nothing",
        )

    if target_key_id:
        _reject_sync_copy(access, target_key_id)
    else:
        existing = find_restored_key(access, compartment_id, envelope.key_version_id)
        if existing is not None:
            # A second restore of the same file finds the first one's key, so reruns create no duplicate.
            # import_key made the key's first version, which later rotations leave first.
            versions = list_all(
                access.management.list_key_versions, existing.id, sort_by="TIMECREATED", sort_order="ASC")
            return _finish(access, existing.id, versions[0].id, envelope, wait_for_version=False, created=False)

    wrapping_key = access.wrapping_public_key()
    material = keywrap.unwrap(envelope.decode_encrypted_key(), private_key, envelope.wrapping_algorithm)
    try:
        blob = keywrap.wrap(material, wrapping_key, keywrap.RSA_OAEP_AES_SHA256)
    finally:
        del material
    wrapped_import_key = oci.key_management.models.WrappedImportKey(
        key_material=base64.b64encode(blob).decode("ascii"), wrapping_algorithm=keywrap.RSA_OAEP_AES_SHA256
    )
    del blob

    # The re-wrapped blob differs on every run (fresh AES key, OAEP randomness), so the retry token
    # is fresh per run too. It makes the SDK's own retries of this call safe; reruns are made safe
    # by find_restored_key instead.
    token = uuid.uuid4().hex
    tags = {RESTORED_FROM_KEY_TAG: envelope.key_id, RESTORED_FROM_VERSION_TAG: envelope.key_version_id}
    if target_key_id:
        details = oci.key_management.models.ImportKeyVersionDetails(wrapped_import_key=wrapped_import_key)
        version = access.management.import_key_version(target_key_id, details, opc_retry_token=token).data
        key_id, key_version_id = target_key_id, version.id
    else:
        shape = oci.key_management.models.KeyShape(
            algorithm=envelope.key_shape["algorithm"], length=envelope.key_shape["length"]
        )
        details = oci.key_management.models.ImportKeyDetails(
            compartment_id=compartment_id,
            display_name=display_name or envelope.display_name,
            key_shape=shape,
            protection_mode=protection_mode,
            wrapped_import_key=wrapped_import_key,
            freeform_tags=tags,
        )
        key = access.management.import_key(details, opc_retry_token=token).data
        key_id, key_version_id = key.id, key.current_key_version
    del wrapped_import_key
    logger.info("imported restored key material", extra={"key_id": key_id, "key_version_id": key_version_id})

    return _finish(access, key_id, key_version_id, envelope, wait_for_version=bool(target_key_id), created=True)


def _finish(
    access: keyexport.VaultAccess, key_id: str, key_version_id: str, envelope: ExportEnvelope,
    wait_for_version: bool, created: bool,
) -> dict[str, Any]:
    key = oci.wait_until(
        access.management, access.management.get_key(key_id), "lifecycle_state", "ENABLED",
        max_interval_seconds=2, max_wait_seconds=ENABLED_WAIT_SECONDS,
    ).data
    if wait_for_version:
        oci.wait_until(
            access.management, access.management.get_key_version(key_id, key_version_id), "lifecycle_state", "ENABLED",
            max_interval_seconds=2, max_wait_seconds=ENABLED_WAIT_SECONDS,
        )

    verified = deep_verify(access, key, key_version_id, envelope)
    if not verified:
        raise KmsBackupError(
            f"deep verify failed: key version {key_version_id} of key {key_id} does not hold the material of "
            f"{envelope.key_version_id}; do not rely on it"
        )
    return {
        "key_id": key_id,
        "key_version_id": key_version_id,
        "vault_id": access.vault_id,
        "region": access.region,
        "restored_from_key_version_id": envelope.key_version_id,
        "created": created,
        "verification": {"deep_verify": "passed", "fingerprint": envelope.key_fingerprint},
    }


def deep_verify(access: keyexport.VaultAccess, key: Any, key_version_id: str, envelope: ExportEnvelope) -> bool:
    """Export the restored version under a throwaway key and compare its fingerprint with the file's."""
    computed = keyexport.fingerprint_by_export(access, key.id, key_version_id, envelope.key_shape["algorithm"])
    return keywrap.fingerprints_equal(computed, envelope.key_fingerprint["value"])
