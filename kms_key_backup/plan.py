"""Planning: which keys can be copied and which source versions each target still needs.

The source-to-target mapping lives on the target key, in freeform tags written by the tool:

- ``kms_key_backup_source_region``, ``kms_key_backup_source_vault_id`` and
  ``kms_key_backup_source_key_id`` name the source key. ``import_key`` sets them in the call that
  creates the copy, so no copy ever exists without them.
- ``kms_key_backup_copied_versions`` reads ``<count>:<source key version OCID>``: how many source
  versions the target contains copies of, and the last of them.

The target's versions, in ``time_created`` order, are copies of the copied source versions in
source order, because the tool imports oldest first and target keys never auto-rotate. A run
updates the tag once per key, after its last import, so after an interrupted run the target can
hold ``m`` versions more than the tag counts: those are copies of the next ``m`` versions the
plan would copy, and the next run records them instead of importing them again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from kms_key_backup.job import Job

# Underscores, not periods: OCI documents that defined tag key names may not contain a period or
# a space. The tool assumes the same rule for freeform keys, so its tags stay portable.
TAG_PREFIX = "kms_key_backup_"
TAG_SOURCE_REGION = TAG_PREFIX + "source_region"
TAG_SOURCE_VAULT_ID = TAG_PREFIX + "source_vault_id"
TAG_SOURCE_KEY_ID = TAG_PREFIX + "source_key_id"
TAG_COPIED_VERSIONS = TAG_PREFIX + "copied_versions"

# Key and key version states in which a copy is impossible or would be wrong.
DELETION_STATES = ("DELETING", "DELETED", "PENDING_DELETION", "SCHEDULING_DELETION")
SUPPORTED_ALGORITHMS = ("AES", "RSA")


@dataclass(frozen=True)
class CopiedVersions:
    """The value of the ``copied-versions`` tag."""

    count: int
    last_source_key_version_id: str

    def to_tag(self) -> str:
        return f"{self.count}:{self.last_source_key_version_id}"


def parse_copied_versions(value: str | None) -> CopiedVersions | None:
    """Parse a ``copied-versions`` tag value; return None when it is absent or malformed."""
    if not value or ":" not in value:
        return None
    count_text, _, version_id = value.partition(":")
    if not count_text.isdigit() or not version_id.startswith("ocid1.keyversion."):
        return None
    return CopiedVersions(int(count_text), version_id)


def provenance_tags(job: Job, source_key_id: str) -> dict[str, str]:
    return {
        TAG_SOURCE_REGION: job.source.region,
        TAG_SOURCE_VAULT_ID: job.source.vault_id,
        TAG_SOURCE_KEY_ID: source_key_id,
    }


def copy_tags(job: Job, source_key_id: str, source_tags: Mapping[str, str] | None,
              copied: CopiedVersions) -> dict[str, str]:
    """Return the freeform tags of a copy: the source key's own tags, then provenance."""
    tags = {name: value for name, value in (source_tags or {}).items() if not name.startswith(TAG_PREFIX)}
    tags.update(provenance_tags(job, source_key_id))
    tags[TAG_COPIED_VERSIONS] = copied.to_tag()
    return tags


def is_copy_of(tags: Mapping[str, str] | None, job: Job) -> str | None:
    """Return the source key OCID a target key copies, if its tags name a key of the job's source vault."""
    tags = tags or {}
    if tags.get(TAG_SOURCE_VAULT_ID) != job.source.vault_id:
        return None
    return tags.get(TAG_SOURCE_KEY_ID)


def retry_token(target_vault_id: str, source_key_version_id: str) -> str:
    """Return the ``opc-retry-token`` of the import of a source version into a target vault.

    The same import always carries the same token, so the service returns, for a repeated call,
    the first call's result instead of creating a second key or version. SHA-256 hex is 64
    characters, the maximum token length.
    """
    return hashlib.sha256(f"{target_vault_id}\n{source_key_version_id}".encode()).hexdigest()


def unsupported_reason(protection_mode: str | None, algorithm: str | None, lifecycle_state: str | None,
                       wrapping_algorithm: str) -> str | None:
    """Return why a source key cannot be copied, or None if it can."""
    if protection_mode == "HSM":
        return "HSM-protected key material cannot be exported from OCI Vault"
    if protection_mode == "EXTERNAL":
        return "external key material is held outside OCI and cannot be exported"
    if protection_mode != "SOFTWARE":
        return f"protection mode {protection_mode} is not SOFTWARE"
    if algorithm == "ECDSA":
        return "OCI Vault cannot import ECDSA keys"
    if algorithm not in SUPPORTED_ALGORITHMS:
        return f"algorithm {algorithm} cannot be imported"
    if algorithm == "RSA" and wrapping_algorithm == "RSA_OAEP_SHA256":
        return ("RSA key material is longer than RSA_OAEP_SHA256 can wrap; "
                "set options.wrapping_algorithm to RSA_OAEP_AES_SHA256")
    if lifecycle_state == "DISABLED":
        return "the key is DISABLED; enable it to copy it"
    if lifecycle_state in DELETION_STATES:
        return f"the key is {lifecycle_state}"
    if lifecycle_state != "ENABLED":
        return f"the key is {lifecycle_state}, not ENABLED; a later run copies it"
    return None


@dataclass(frozen=True)
class SourceVersion:
    id: str
    lifecycle_state: str
    time_created: object  # datetime; only compared


@dataclass
class VersionPlan:
    """The source versions one target still needs of one source key."""

    to_copy: list[str]                  # source key version OCIDs, oldest first
    skipped: list[dict]                 # {"key_version_id", "reason"}
    already_copied: int


def order_versions(versions: Iterable[SourceVersion]) -> list[SourceVersion]:
    """Sort versions oldest first; the OCID breaks ties of equal creation times."""
    return sorted(versions, key=lambda v: (v.time_created, v.id))


def plan_versions(versions: Sequence[SourceVersion], current_key_version_id: str, mode: str,
                  explicit_ids: Iterable[str], copied: CopiedVersions | None) -> VersionPlan:
    """Choose the source versions a target still needs, oldest first.

    ``versions`` are every version of the source key. Versions older than the last copied one
    cannot be added any more, because an import makes the imported version current.
    """
    ordered = order_versions(versions)
    explicit = set(explicit_ids)
    if mode == "current":
        requested = [v for v in ordered if v.id == current_key_version_id]
    elif mode == "explicit":
        requested = [v for v in ordered if v.id in explicit]
    else:
        requested = list(ordered)

    start = 0
    if copied is not None:
        positions = {v.id: index for index, v in enumerate(ordered)}
        if copied.last_source_key_version_id not in positions:
            raise LookupError(
                f"the last copied version {copied.last_source_key_version_id} is no longer listed by the source key")
        start = positions[copied.last_source_key_version_id] + 1

    to_copy: list[str] = []
    skipped: list[dict] = []
    position_of = {v.id: index for index, v in enumerate(ordered)}
    for version in requested:
        if position_of[version.id] < start:
            continue
        if version.lifecycle_state != "ENABLED":
            skipped.append({"key_version_id": version.id,
                            "reason": f"the version is {version.lifecycle_state}, not ENABLED"})
            continue
        to_copy.append(version.id)

    return VersionPlan(to_copy=to_copy, skipped=skipped, already_copied=copied.count if copied else 0)
