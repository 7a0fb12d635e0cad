"""The IAM permissions that each Vault API operation of the tool needs.

Source: OCI IAM policy reference, "Details for the Vault Service"
(https://docs.oracle.com/iaas/Content/Identity/Reference/keypolicyreference.htm), which maps each
API operation to the permissions it checks and the policy verbs that grant them. The doctor
canary names these permissions in every step, so a user who reads "404 NotAuthorizedOrNotFound"
learns which statement is missing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperationPermissions:
    """An OCI API operation, the permissions it checks and the policy statement that grants them."""

    operation: str
    permissions: tuple[str, ...]
    grant: str

    def describe(self) -> str:
        """Return "KEY_IMPORT and VAULT_IMPORT_KEY (manage keys, use vaults)" or the gap."""
        if not self.permissions:
            return f"an undocumented permission ({self.grant})"
        return f"{' and '.join(self.permissions)} ({self.grant})"


UNDOCUMENTED = ()

# Keyed by the SDK's operation names (``operation_name`` in oci 2.189.0), which the engine's call
# counter and ServiceFailure.operation use.
OPERATIONS: dict[str, OperationPermissions] = {
    "get_vault": OperationPermissions("GetVault", ("VAULT_READ",), "read vaults"),
    "get_vault_usage": OperationPermissions("GetVaultUsage", ("VAULT_READ",), "read vaults"),
    "list_keys": OperationPermissions("ListKeys", ("KEY_INSPECT",), "inspect keys"),
    "list_key_versions": OperationPermissions("ListKeyVersions", ("KEY_INSPECT",), "inspect keys"),
    "get_key": OperationPermissions("GetKey", ("KEY_READ",), "read keys"),
    "get_key_version": OperationPermissions("GetKeyVersion", ("KEY_READ",), "read keys"),
    # NOTE: the policy reference lists no permission for GetWrappingKey. The Terraform module
    # grants 'use vaults' and 'manage keys' in the target, which covers every candidate.
    "get_wrapping_key": OperationPermissions(
        "GetWrappingKey", UNDOCUMENTED, "not in the Vault policy reference; 'read vaults' and 'manage keys' in the target cover it"),
    "create_key": OperationPermissions("CreateKey", ("KEY_CREATE",), "manage keys"),
    "create_key_version": OperationPermissions("CreateKeyVersion", ("KEY_ROTATE",), "manage keys"),
    "export_key": OperationPermissions("ExportKey", ("KEY_EXPORT",), "use keys"),
    "import_key": OperationPermissions("ImportKey", ("KEY_IMPORT", "VAULT_IMPORT_KEY"), "manage keys, use vaults"),
    "import_key_version": OperationPermissions("ImportKeyVersion", ("KEY_IMPORT",), "manage keys"),
    "update_key": OperationPermissions("UpdateKey", ("KEY_UPDATE",), "manage keys"),
    # NOTE: DisableKey's permission name is taken as KEY_DISABLE; it was not checked against the
    # reference table for this release, unlike the operations above.
    "disable_key": OperationPermissions("DisableKey", ("KEY_DISABLE",), "manage keys"),
    "schedule_key_deletion": OperationPermissions("ScheduleKeyDeletion", ("KEY_DELETE",), "manage keys"),
    "encrypt": OperationPermissions("Encrypt", ("KEY_ENCRYPT",), "use keys"),
    "decrypt": OperationPermissions("Decrypt", ("KEY_DECRYPT",), "use keys"),
}

# ServiceFailure names the polling reads of a lifecycle wait "wait"; they are GetKey or GetKeyVersion.
OPERATIONS["wait"] = OperationPermissions("GetKey or GetKeyVersion", ("KEY_READ",), "read keys")


def for_operation(sdk_operation: str) -> OperationPermissions:
    """Return the permissions of an SDK operation name such as ``import_key``."""
    known = OPERATIONS.get(sdk_operation)
    if known is not None:
        return known
    name = "".join(part.capitalize() for part in sdk_operation.split("_"))
    return OperationPermissions(name, UNDOCUMENTED, "see the Vault policy reference")
