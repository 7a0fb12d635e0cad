"""Live behaviour probes: OCI Vault behaviours the copy depends on that OCI does not document.

Each probe runs one call on the canary's throwaway keys and reports the service's response,
as ``accepted`` or ``refused`` with the status and code, so a user can send the output back as
evidence. The engine reads nothing from them at run time. The call under observation is made
without retries, so a refusal (often 409 IncorrectState, which the engine retries) is reported
at once.

The probes run in this order, because the last two disable keys:

1. ExportKey of an older, non-current key version.
2. Decrypt, under the copy, of a ciphertext that the source key made.
3. ImportKeyVersion of RSA key material.
4. ImportKeyVersion into a DISABLED key.
5. ExportKey of a DISABLED key.

Two questions cannot be answered by calls with one principal, and are reported as not
observable: which permission GetWrappingKey checks, and what a key event carries.
"""

from __future__ import annotations

import base64
import hmac
import logging
import os
from typing import Any, Callable

import oci
from oci.key_management.models import (DecryptDataDetails, EncryptDataDetails, ExportKeyDetails,
                                       ImportKeyVersionDetails, WrappedImportKey)

from kms_key_backup import permissions
from kms_key_backup.canary import CanaryResult, ThrowawayKey
from kms_key_backup.clients import ClientFactory, VaultRecord
from kms_key_backup.copy import wait_for_state, wait_until_enabled
from kms_key_backup.errors import KmsBackupError
from kms_key_backup.job import Job
from kms_key_backup.verify import EphemeralWrappingKey, public_keys_equal

LOG = logging.getLogger(__name__)

ACCEPTED = "accepted"
REFUSED = "refused"
NOT_RUN = "not run"
NOT_OBSERVABLE = "not observable"

WRAPPING_ALGORITHM = "RSA_OAEP_AES_SHA256"
NO_RETRY = oci.retry.NoneRetryStrategy()


class _PrerequisiteFailed(Exception):
    """A call that prepares a probe failed, so the probe cannot run."""


def run_probes(factory: ClientFactory, job: Job, canary: CanaryResult, source_vault: VaultRecord,
               target_vaults: list[tuple[str, VaultRecord]]) -> list[dict[str, Any]]:
    """Run every probe on the canary's keys in the first target and return the observations."""
    label, target_vault = target_vaults[0]
    keys = _keys_by_place(canary, label)
    context = _ProbeContext(factory, source_vault, target_vault, keys)

    observations = [
        context.observe("ExportKey of an older (non-current) key version", "export_key", context.export_older_version),
        context.observe("Decrypt, under the copy, of a ciphertext made by the source key", "decrypt",
                        context.decrypt_under_copy),
        context.observe("ImportKeyVersion of RSA key material", "import_key_version", context.import_rsa_version),
        context.observe("ImportKeyVersion into a DISABLED key", "import_key_version",
                        context.import_into_disabled_key),
        context.observe("ExportKey of a DISABLED key", "export_key", context.export_disabled_key),
        _not_observable("the permission GetWrappingKey checks", "get_wrapping_key",
                        "a call by one principal shows only that it is allowed; remove one grant at a time from a "
                        "test principal's policy and rerun the canary to find it"),
        _not_observable("the contents of createkeyversion.end and autokeyrotate.end events", "events",
                        "events are delivered to an Events rule, not to API callers; point a rule at a log "
                        "or notification topic and rotate a throwaway key"),
    ]
    for observation in observations:
        LOG.info("probe: %s", observation["summary"], extra={"probe": observation["probe"]})
    return observations


def _keys_by_place(canary: CanaryResult, target_label: str) -> dict[tuple[str, str], ThrowawayKey]:
    keys = {}
    for key in canary.keys:
        place = "source" if key.vault_label == "source" else key.vault_label
        if place in ("source", target_label):
            keys.setdefault((key.role, "source" if place == "source" else "target"), key)
    return keys


def _not_observable(probe: str, sdk_operation: str, reason: str) -> dict[str, Any]:
    needed = permissions.for_operation(sdk_operation)
    return {"probe": probe, "operation": needed.operation, "permissions": list(needed.permissions),
            "observed": NOT_OBSERVABLE, "summary": f"{probe}: not observable here; {reason}"}


class _ProbeContext:
    def __init__(self, factory: ClientFactory, source_vault: VaultRecord, target_vault: VaultRecord,
                 keys: dict[tuple[str, str], ThrowawayKey]):
        self.factory = factory
        self.source_vault = source_vault
        self.target_vault = target_vault
        self.keys = keys
        self.ephemeral = EphemeralWrappingKey()

    # --- observation ------------------------------------------------------------------------------

    def observe(self, probe: str, sdk_operation: str, run: Callable[[], str]) -> dict[str, Any]:
        """Run one probe; ``run`` makes the observed call and returns a note on an accepted call."""
        needed = permissions.for_operation(sdk_operation)
        observation: dict[str, Any] = {"probe": probe, "operation": needed.operation,
                                       "permissions": list(needed.permissions)}
        try:
            note = run()
        except _PrerequisiteFailed as exc:
            observation.update(observed=NOT_RUN, summary=f"{probe}: not run, {exc}")
            return observation
        except oci.exceptions.ServiceError as exc:
            exc.original_request = None  # an import request body contains a wrapped key
            observation.update(observed=REFUSED, status=exc.status, code=exc.code, message=str(exc.message),
                               opc_request_id=exc.request_id,
                               summary=f"{probe}: refused, {exc.status} {exc.code}")
            return observation
        observation.update(observed=ACCEPTED, summary=f"{probe}: accepted" + (f", {note}" if note else ""))
        return observation

    def _key(self, role: str, place: str) -> ThrowawayKey:
        key = self.keys.get((role, place))
        if key is None:
            raise _PrerequisiteFailed(f"the canary has no {role.upper()} key in the {place} vault")
        return key

    def _prepare(self, what: str, call: Callable[[], Any]) -> Any:
        """Run a call that sets a probe up; a failure stops the probe, not the others."""
        try:
            return call()
        except oci.exceptions.ServiceError as exc:
            exc.original_request = None
            raise _PrerequisiteFailed(f"{what} failed ({exc.status} {exc.code})") from None
        except (KmsBackupError, oci.exceptions.MaximumWaitTimeExceeded) as exc:
            raise _PrerequisiteFailed(f"{what} failed ({exc})") from None

    def _management(self, vault: VaultRecord):
        return self.factory.management_client(vault)

    def _crypto(self, vault: VaultRecord):
        return self.factory.crypto_client(vault)

    def _export_for_target(self, key: ThrowawayKey, key_version_id: str | None = None) -> str:
        """Export a source key version under the target vault's wrapping key; the blob stays local."""
        wrapping_key = self.factory.get_wrapping_public_key(self.target_vault)
        details = ExportKeyDetails(key_id=key.key_id, key_version_id=key_version_id, algorithm=WRAPPING_ALGORITHM,
                                   public_key=wrapping_key)
        return self._prepare("ExportKey of the source version",
                             lambda: self._crypto(self.source_vault).export_key(details).data.encrypted_key)

    def _disable(self, key: ThrowawayKey) -> None:
        management = self._management(key.vault)

        def disable():
            response = management.disable_key(key.key_id)
            wait_for_state(management, response, lambda: management.get_key(key.key_id), ("DISABLED",))
        self._prepare(f"DisableKey of the {key.vault_label} {key.role.upper()} key", disable)

    # --- probes -----------------------------------------------------------------------------------

    def export_older_version(self) -> str:
        key = self._key("aes", "source")
        management = self._management(self.source_vault)
        current = self._prepare("GetKey", lambda: management.get_key(key.key_id).data.current_key_version)
        versions = self._prepare("ListKeyVersions", lambda: management.list_key_versions(key.key_id).data)
        older = [version.id for version in versions if version.id != current]
        if not older:
            raise _PrerequisiteFailed("the AES key has no older version")
        details = ExportKeyDetails(key_id=key.key_id, key_version_id=older[0], algorithm=WRAPPING_ALGORITHM,
                                   public_key=self.ephemeral.public_pem())
        encrypted_key = self._crypto(self.source_vault).export_key(details, retry_strategy=NO_RETRY).data.encrypted_key
        try:
            self.ephemeral.material_digest(encrypted_key, WRAPPING_ALGORITHM)
        finally:
            del encrypted_key
        return f"the blob of version {older[0]} unwraps under the requested public key"

    def decrypt_under_copy(self) -> str:
        source_key = self._key("aes", "source")
        copy_key = self._key("aes", "target")
        plaintext = base64.b64encode(os.urandom(32)).decode("ascii")
        ciphertext = self._prepare("Encrypt with the source key", lambda: self._crypto(self.source_vault).encrypt(
            EncryptDataDetails(key_id=source_key.key_id, plaintext=plaintext)).data.ciphertext)
        decrypted = self._crypto(self.target_vault).decrypt(
            DecryptDataDetails(key_id=copy_key.key_id, ciphertext=ciphertext), retry_strategy=NO_RETRY).data.plaintext
        same = hmac.compare_digest(decrypted.encode("ascii"), plaintext.encode("ascii"))
        return "the plaintext matches" if same else "but the plaintext DIFFERS"

    def import_rsa_version(self) -> str:
        source_key = self._key("rsa", "source")
        copy_key = self._key("rsa", "target")
        source_management = self._management(self.source_vault)

        def rotate():
            response = source_management.create_key_version(source_key.key_id)
            version_id = response.data.id
            wait_until_enabled(source_management, response,
                               lambda: source_management.get_key_version(source_key.key_id, version_id),
                               f"version {version_id}")
            wait_until_enabled(source_management, source_management.get_key(source_key.key_id),
                               lambda: source_management.get_key(source_key.key_id), f"key {source_key.key_id}")
            return response.data.id

        version_id = self._prepare("CreateKeyVersion of the source RSA key", rotate)
        encrypted_key = self._export_for_target(source_key, version_id)
        target_management = self._management(self.target_vault)
        try:
            response = target_management.import_key_version(
                copy_key.key_id, ImportKeyVersionDetails(wrapped_import_key=WrappedImportKey(
                    key_material=encrypted_key, wrapping_algorithm=WRAPPING_ALGORITHM)),
                retry_strategy=NO_RETRY)
        finally:
            del encrypted_key
        imported_id = response.data.id
        version = self._prepare("waiting for the imported version", lambda: wait_until_enabled(
            target_management, response, lambda: target_management.get_key_version(copy_key.key_id, imported_id),
            f"version {imported_id}").data)
        source_public_key = self._prepare("GetKeyVersion of the source version", lambda: source_management
                                          .get_key_version(source_key.key_id, version_id).data.public_key)
        equal = public_keys_equal(source_public_key, version.public_key)
        return "the new version's public key equals the source's" if equal else "but the public keys DIFFER"

    def import_into_disabled_key(self) -> str:
        source_key = self._key("aes", "source")
        copy_key = self._key("aes", "target")
        self._disable(copy_key)
        encrypted_key = self._export_for_target(source_key)
        try:
            response = self._management(self.target_vault).import_key_version(
                copy_key.key_id, ImportKeyVersionDetails(wrapped_import_key=WrappedImportKey(
                    key_material=encrypted_key, wrapping_algorithm=WRAPPING_ALGORITHM)),
                retry_strategy=NO_RETRY)
        finally:
            del encrypted_key
        return f"version {response.data.id} was created"

    def export_disabled_key(self) -> str:
        key = self._key("aes", "source")
        self._disable(key)
        details = ExportKeyDetails(key_id=key.key_id, algorithm=WRAPPING_ALGORITHM,
                                   public_key=self.ephemeral.public_pem())
        encrypted_key = self._crypto(self.source_vault).export_key(details, retry_strategy=NO_RETRY).data.encrypted_key
        del encrypted_key
        return ""
