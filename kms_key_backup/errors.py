"""Exceptions raised by kms-key-backup.

Every error the tool raises on purpose derives from ``KmsBackupError``, so the CLI and the
function catch that one class and turn it into an exit code or a response:

    KmsBackupError
     +-- InvalidInputError    bad job, flag, payload, event or file; raised before any API call
     +-- PreflightError       a vault is missing, not ACTIVE, in another region, or its wrapping
     |                        key is unreadable
     +-- UnsupportedKeyError  a key or version that cannot be copied (reason attached)
     +-- ServiceFailure       an OCI call failed; wraps ``oci.exceptions.ServiceError`` with
     |                        ``from`` and keeps its ``opc-request-id``
     +-- DeadlineReached      the run stopped starting work before its deadline

Messages never contain key material or wrapped key blobs.
"""

from __future__ import annotations

from typing import Any


class KmsBackupError(Exception):
    """Base class of every error raised by kms-key-backup."""


class InvalidInputError(KmsBackupError):
    """Invalid job, flag, payload, event or file, found before any API call.

    ``field`` is the dotted path of the offending field (``targets[0].vault_id``), ``value`` the
    value given and ``fix`` a sentence telling the user what to change.
    """

    def __init__(self, field: str, value: Any, problem: str, fix: str | None = None):
        # Callers either give the problem and the fix apart, or one sentence with both.
        self.field = field
        self.value = value
        self.problem = problem if fix is not None else None
        self.fix = fix if fix is not None else problem
        message = f"invalid {field} = {value!r}: {problem}"
        if fix is not None:
            message += f". {fix}"
        super().__init__(message)


class PreflightError(KmsBackupError):
    """A vault or wrapping key failed the checks made before any export."""


class UnsupportedKeyError(KmsBackupError):
    """A key or key version that cannot be copied, with the ``reason``."""

    def __init__(self, key_id: str, reason: str, key_version_id: str | None = None):
        self.key_id = key_id
        self.key_version_id = key_version_id
        self.reason = reason
        subject = key_version_id or key_id
        super().__init__(f"{subject} cannot be copied: {reason}")


class ServiceFailure(KmsBackupError):
    """An OCI API call failed.

    Raise it ``from`` the ``oci.exceptions.ServiceError`` so the chain stays available, and keep
    only the fields a report needs. The request body of a failed import contains a wrapped key
    blob, so the ServiceError must never be logged with its ``original_request``.
    """

    def __init__(self, operation: str, resource_id: str | None, status: int | None,
                 code: str | None, message: str, opc_request_id: str | None):
        self.operation = operation
        self.resource_id = resource_id
        self.status = status
        self.code = code
        self.service_message = message
        self.opc_request_id = opc_request_id
        where = f" on {resource_id}" if resource_id else ""
        super().__init__(
            f"{operation}{where} failed: {status} {code}: {message} (opc-request-id {opc_request_id})"
        )

    def to_dict(self) -> dict:
        """Return the fields of the failure for a run report."""
        return {
            "operation": self.operation,
            "resource_id": self.resource_id,
            "status": self.status,
            "code": self.code,
            "message": self.service_message,
            "opc_request_id": self.opc_request_id,
        }


class DeadlineReached(KmsBackupError):
    """The run stopped starting new work because its deadline was near."""
