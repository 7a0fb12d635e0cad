"""Export-only: wrap one key version under the user's RSA public key and describe it.

The blob goes to an export file (`exportfile`) and nowhere else. The fingerprint that identifies
the exported material is computed without printing or storing the material:

- RSA: the SHA-256 of the key version's ``public_key`` (DER SubjectPublicKeyInfo), read from the vault.
- AES: the key check value (`keywrap.key_check_value`). The vault never returns it, so the key version
  is exported a second time under a throwaway in-memory RSA key, unwrapped, hashed and dropped. The
  holder of the user's private key reproduces the value with ``kms-key-backup inspect``.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import oci
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kms_key_backup import exportfile, keywrap, pemfile
from kms_key_backup.clients import ClientFactory
from kms_key_backup.errors import InvalidInputError, KmsBackupError, PreflightError
from kms_key_backup.ocid import is_known_region, parse_ocid

logger = logging.getLogger(__name__)

# Size of the throwaway key used to compute an AES key check value; the smallest size OCI accepts.
EPHEMERAL_RSA_BITS = 2048


class VaultAccess:
    """The vault record and the management and crypto clients of one vault, from a `ClientFactory`."""

    def __init__(self, factory: ClientFactory, region: str, vault_id: str, flag: str = "--vault-id",
                 region_flag: str = "--region") -> None:
        if not isinstance(vault_id, str) or not vault_id.startswith("ocid1.vault."):
            raise InvalidInputError(flag, vault_id, "expected a vault OCID starting with ocid1.vault.")
        # Without a known region the SDK would build an endpoint for a host that does not exist,
        # so both are checked before any call.
        if not is_known_region(region):
            raise InvalidInputError(region_flag, region, "not a region known to the OCI SDK",
                                    "Use a region identifier such as eu-frankfurt-1.")
        ocid = parse_ocid(vault_id)
        if ocid is not None and ocid.region and ocid.region != region:
            raise InvalidInputError(flag, vault_id, f"belongs to region {ocid.region}, not {region}",
                                    f"Give the region the vault lives in, or a vault OCID of {region}.")
        self.factory = factory
        self.region = region
        self.vault_id = vault_id
        # get_vault raises PreflightError when the vault is not found in this region.
        self.vault = factory.get_vault(region, vault_id)
        if self.vault.lifecycle_state != "ACTIVE":
            raise PreflightError(
                f"vault {vault_id} is {self.vault.lifecycle_state}, not ACTIVE; use an ACTIVE vault"
            )
        self.management = factory.management_client(self.vault)
        self.crypto = factory.crypto_client(self.vault)

    def wrapping_public_key(self) -> rsa.RSAPublicKey:
        pem = self.factory.get_wrapping_public_key(self.vault)
        return serialization.load_pem_public_key(pem.encode("ascii"))


def find_key(access: VaultAccess, key_id: str | None, display_name: str | None, compartment_id: str | None) -> Any:
    """Return the key record selected by OCID, or else by display name within a compartment."""
    if key_id:
        try:
            key = access.management.get_key(key_id).data
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                raise InvalidInputError(
                    "source_key_ocid", key_id, f"key not found in vault {access.vault_id} or not authorized; check the OCID"
                ) from exc
            raise
        return key

    summaries = oci.pagination.list_call_get_all_results(
        access.management.list_keys, compartment_id, sort_by="TIMECREATED", sort_order="DESC"
    ).data
    matches = [summary for summary in summaries if summary.display_name == display_name and summary.vault_id == access.vault_id]
    live = [summary for summary in matches if summary.lifecycle_state not in ("DELETED", "PENDING_DELETION", "DELETING")]
    if not live:
        raise InvalidInputError(
            "source_keyname", display_name, f"no key with this display name in compartment {compartment_id}; check the name"
        )
    if len(live) > 1:
        raise InvalidInputError(
            "source_keyname", display_name,
            f"{len(live)} keys have this display name ({', '.join(summary.id for summary in live)}); give source_key_ocid",
        )
    return access.management.get_key(live[0].id).data


def _check_exportable(key: Any, wrapping_algorithm: str) -> None:
    if key.protection_mode != "SOFTWARE":
        raise InvalidInputError(
            "source_key_ocid", key.id, f"the key is {key.protection_mode}-protected; OCI exports SOFTWARE keys only"
        )
    if key.lifecycle_state != "ENABLED":
        raise InvalidInputError("source_key_ocid", key.id, f"the key is {key.lifecycle_state}; enable it first")
    algorithm = key.key_shape.algorithm
    if algorithm not in ("AES", "RSA"):
        raise InvalidInputError(
            "source_key_ocid", key.id, f"the key is {algorithm}; OCI cannot import {algorithm} keys, so an export could never be restored"
        )
    if algorithm == "RSA" and wrapping_algorithm == "RSA_OAEP_SHA256":
        raise InvalidInputError(
            "wrapping_algorithm", wrapping_algorithm, "RSA key material is too long for RSA_OAEP_SHA256; use RSA_OAEP_AES_SHA256"
        )


def _export(access: VaultAccess, key_id: str, key_version_id: str, algorithm: str, public_key_pem: str) -> Any:
    details = oci.key_management.models.ExportKeyDetails(
        key_id=key_id, key_version_id=key_version_id, algorithm=algorithm, public_key=public_key_pem
    )
    return access.crypto.export_key(details).data


def fingerprint_by_export(access: VaultAccess, key_id: str, key_version_id: str, shape_algorithm: str) -> str:
    """Compute the fingerprint of a key version's material through a throwaway export.

    The material is unwrapped in memory, hashed (`keywrap.material_fingerprint`) and dropped.
    """
    ephemeral_key = rsa.generate_private_key(public_exponent=65537, key_size=EPHEMERAL_RSA_BITS)
    exported = _export(
        access, key_id, key_version_id, keywrap.RSA_OAEP_AES_SHA256, pemfile.public_key_pem(ephemeral_key.public_key())
    )
    material = keywrap.unwrap(base64.b64decode(exported.encrypted_key), ephemeral_key, keywrap.RSA_OAEP_AES_SHA256)
    try:
        return keywrap.material_fingerprint(material, shape_algorithm)
    finally:
        del material


def export_key_version(
    access: VaultAccess,
    *,
    key_id: str | None,
    key_name: str | None,
    compartment_id: str | None,
    key_version_id: str | None,
    wrapping_public_key: rsa.RSAPublicKey,
    wrapping_algorithm: str,
) -> exportfile.ExportEnvelope:
    """Export one key version under `wrapping_public_key` and return the export file's envelope."""
    key = find_key(access, key_id, key_name, compartment_id)
    _check_exportable(key, wrapping_algorithm)

    version_id = key_version_id or key.current_key_version
    try:
        version = access.management.get_key_version(key.id, version_id).data
    except oci.exceptions.ServiceError as exc:
        if exc.status == 404:
            raise InvalidInputError(
                "source_key_version", version_id, f"not a version of key {key.id}; list them with `oci kms management key-version list`"
            ) from exc
        raise
    if version.lifecycle_state != "ENABLED":
        raise InvalidInputError("source_key_version", version_id, f"the key version is {version.lifecycle_state}; export an ENABLED version")

    exported = _export(access, key.id, version.id, wrapping_algorithm, pemfile.public_key_pem(wrapping_public_key))
    if exported.key_version_id and exported.key_version_id != version.id:
        raise KmsBackupError(f"export_key returned key version {exported.key_version_id}, but {version.id} was requested")

    if key.key_shape.algorithm == "RSA":
        version_public_key = serialization.load_pem_public_key(version.public_key.encode("ascii"))
        fingerprint = {"kind": exportfile.RSA_PUBLIC_KEY_SHA256, "value": keywrap.public_key_fingerprint(version_public_key)}
    else:
        fingerprint = {"kind": exportfile.AES_KEY_CHECK_VALUE, "value": fingerprint_by_export(access, key.id, version.id, "AES")}

    logger.info("exported key version", extra={"key_id": key.id, "key_version_id": version.id})
    return exportfile.ExportEnvelope(
        key_id=key.id,
        key_version_id=version.id,
        vault_id=access.vault_id,
        compartment_id=key.compartment_id,
        region=access.region,
        display_name=key.display_name,
        key_shape={"algorithm": key.key_shape.algorithm, "length": key.key_shape.length, "curve_id": key.key_shape.curve_id},
        wrapping_algorithm=wrapping_algorithm,
        wrapping_public_key_sha256=keywrap.public_key_fingerprint(wrapping_public_key),
        key_fingerprint=fingerprint,
        time_exported=exportfile.utc_now(),
        encrypted_key=exported.encrypted_key,
    )


def inspect_export(envelope: exportfile.ExportEnvelope, private_key: rsa.RSAPrivateKey | None) -> dict[str, Any]:
    """Describe an export file; with the private key, recompute its fingerprint and compare.

    Raises `keywrap.UnwrapError` when the private key does not unwrap the blob.
    """
    result: dict[str, Any] = {"file": envelope.describe()}
    if private_key is None:
        return result

    private_key_fingerprint = keywrap.public_key_fingerprint(private_key.public_key())
    result["private_key_matches_wrapping_key"] = keywrap.fingerprints_equal(
        private_key_fingerprint, envelope.wrapping_public_key_sha256
    )
    if not result["private_key_matches_wrapping_key"]:
        raise InvalidInputError(
            "--private-key", private_key_fingerprint,
            f"this private key's public key has SHA-256 {private_key_fingerprint}, but the file was wrapped for "
            f"{envelope.wrapping_public_key_sha256}; give the matching private key",
        )
    material = keywrap.unwrap(envelope.decode_encrypted_key(), private_key, envelope.wrapping_algorithm)
    try:
        computed = keywrap.material_fingerprint(material, envelope.key_shape["algorithm"])
        length_matches = len(material) == envelope.key_shape["length"] if envelope.key_shape["algorithm"] == "AES" else True
    finally:
        del material
    result["computed_fingerprint"] = {"kind": envelope.key_fingerprint["kind"], "value": computed}
    result["fingerprint_matches"] = keywrap.fingerprints_equal(computed, envelope.key_fingerprint["value"]) and length_matches
    return result
