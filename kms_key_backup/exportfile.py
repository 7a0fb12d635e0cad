"""The export-only file: one wrapped key version and what is needed to check and restore it.

The file is a JSON object (format described in docs/export-file.md). It contains the wrapped blob,
so it is created with mode 0600 in the same `open` call and never overwritten: an existing file keeps
its mode when truncated, so the writer rejects it instead.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import json
import os
import re
from typing import Any

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.inputfile import read_bounded

FORMAT = "kms-key-backup/export"
FORMAT_VERSION = 1

# Fingerprint kinds; docs/export-file.md defines each.
RSA_PUBLIC_KEY_SHA256 = "rsa_public_key_sha256"
AES_KEY_CHECK_VALUE = "aes_key_check_value"

_HEX_64 = re.compile(r"^[0-9a-f]{64}$")
_HEX_32 = re.compile(r"^[0-9a-f]{32}$")
_OCID_PREFIX = {
    "key_id": ("ocid1.key.",),
    "key_version_id": ("ocid1.keyversion.",),
    "vault_id": ("ocid1.vault.",),
    "compartment_id": ("ocid1.compartment.", "ocid1.tenancy."),
}


@dataclasses.dataclass(frozen=True)
class ExportEnvelope:
    """Contents of an export-only file."""

    key_id: str
    key_version_id: str
    vault_id: str
    compartment_id: str
    region: str
    display_name: str
    key_shape: dict[str, Any]
    wrapping_algorithm: str
    wrapping_public_key_sha256: str
    key_fingerprint: dict[str, str]
    time_exported: str
    # The wrapped blob, base64 as `export_key` returns it; kept out of repr so it never reaches a log.
    encrypted_key: str = dataclasses.field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        document = {"format": FORMAT, "format_version": FORMAT_VERSION}
        document.update(dataclasses.asdict(self))
        return document

    def describe(self) -> dict[str, Any]:
        """Return every field except the blob, for printing."""
        document = self.to_dict()
        del document["encrypted_key"]
        return document

    def decode_encrypted_key(self) -> bytes:
        return base64.b64decode(self.encrypted_key, validate=True)


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_export_file(path: str, envelope: ExportEnvelope, flag: str = "--outputfile") -> None:
    """Create `path` with mode 0600 and write the envelope to it; raise if it exists."""
    data = (json.dumps(envelope.to_dict(), indent=2) + "\n").encode("utf-8")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInputError(
            flag, path, "the file already exists and is never overwritten; remove it or give another path"
        ) from None
    except FileNotFoundError:
        raise InvalidInputError(flag, path, "the directory does not exist; create it or give another path") from None
    except PermissionError:
        raise InvalidInputError(flag, path, "the directory is not writable; give another path") from None

    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    except BaseException:
        # Never leave a truncated blob behind, since a half file would fail later with a worse error.
        os.unlink(path)
        raise


def read_export_file(path: str, flag: str = "FILE") -> ExportEnvelope:
    """Read and validate an export-only file."""
    try:
        with open(path, "rb") as handle:
            document = json.loads(read_bounded(handle, flag, path, "an export file").decode("utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(flag, path, "the file does not exist; give the path of an export file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(flag, path, f"the file is not JSON ({exc}); give a file written by `export`") from None
    except RecursionError:
        raise InvalidInputError(flag, path, "the JSON is nested too deeply to parse; give a file written by `export`") from None
    except OSError as exc:
        raise InvalidInputError(flag, path, f"the file cannot be read ({exc.strerror}); check the path") from None

    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidInputError(
            f"{flag} format", path, f"the file is not an export file (its \"format\" is not {FORMAT!r})"
        )
    if document.get("format_version") != FORMAT_VERSION:
        raise InvalidInputError(
            f"{flag} format_version",
            document.get("format_version"),
            f"this version of kms-key-backup reads format_version {FORMAT_VERSION} only; use a matching release",
        )

    names = {field.name for field in dataclasses.fields(ExportEnvelope)}
    unknown = sorted(set(document) - names - {"format", "format_version"})
    if unknown:
        raise InvalidInputError(f"{flag} {unknown[0]}", path, "unknown field; remove it (see docs/export-file.md)")
    missing = sorted(names - set(document))
    if missing:
        raise InvalidInputError(f"{flag} {missing[0]}", path, "missing field; the file is incomplete, export again")

    values = {name: document[name] for name in names}
    _validate(values, flag)
    return ExportEnvelope(**values)


def _validate(values: dict[str, Any], flag: str) -> None:
    for name, prefixes in _OCID_PREFIX.items():
        value = values[name]
        if not isinstance(value, str) or not value.startswith(prefixes):
            raise InvalidInputError(
                f"{flag} {name}", value, f"expected an OCID starting with {' or '.join(prefixes)}; export again"
            )
    for name in ("region", "display_name", "wrapping_algorithm", "time_exported", "wrapping_public_key_sha256"):
        if not isinstance(values[name], str) or not values[name]:
            raise InvalidInputError(f"{flag} {name}", values[name], "expected a non-empty string; export again")
    if values["wrapping_algorithm"] not in ("RSA_OAEP_AES_SHA256", "RSA_OAEP_SHA256"):
        raise InvalidInputError(
            f"{flag} wrapping_algorithm", values["wrapping_algorithm"], "expected RSA_OAEP_AES_SHA256 or RSA_OAEP_SHA256"
        )
    if not _HEX_64.match(values["wrapping_public_key_sha256"]):
        raise InvalidInputError(
            f"{flag} wrapping_public_key_sha256", values["wrapping_public_key_sha256"], "expected 64 lowercase hex digits"
        )

    shape = values["key_shape"]
    if (
        not isinstance(shape, dict)
        or shape.get("algorithm") not in ("AES", "RSA")
        or not isinstance(shape.get("length"), int)
        or set(shape) - {"algorithm", "length", "curve_id"}
    ):
        raise InvalidInputError(
            f"{flag} key_shape", shape, 'expected {"algorithm": "AES" or "RSA", "length": bytes, "curve_id": null}'
        )

    fingerprint = values["key_fingerprint"]
    expected_kind = AES_KEY_CHECK_VALUE if shape["algorithm"] == "AES" else RSA_PUBLIC_KEY_SHA256
    pattern = _HEX_32 if expected_kind == AES_KEY_CHECK_VALUE else _HEX_64
    if (
        not isinstance(fingerprint, dict)
        or set(fingerprint) != {"kind", "value"}
        or fingerprint["kind"] != expected_kind
        or not isinstance(fingerprint["value"], str)
        or not pattern.match(fingerprint["value"])
    ):
        raise InvalidInputError(
            f"{flag} key_fingerprint", fingerprint, f'expected {{"kind": "{expected_kind}", "value": hex digits}}'
        )

    # The blob is never echoed in an error, only its problem.
    blob = values["encrypted_key"]
    try:
        if not isinstance(blob, str) or not base64.b64decode(blob, validate=True):
            raise ValueError
    except (ValueError, binascii.Error):
        raise InvalidInputError(
            f"{flag} encrypted_key", "<not shown>", "expected the non-empty base64 blob of export_key; export again"
        ) from None
