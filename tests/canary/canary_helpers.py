"""Where the oci_verified tests run: the emulator always, a real tenancy when its settings are given.

The real-tenancy variant reads these environment variables; with any of the required ones unset
it is skipped, and the skip reason names the missing ones:

| variable | required | meaning |
|---|---|---|
| `KMS_BACKUP_LIVE_PROFILE` | yes | profile of the OCI config file to sign with |
| `KMS_BACKUP_LIVE_COMPARTMENT_ID` | yes | compartment of the throwaway keys in both vaults |
| `KMS_BACKUP_LIVE_SOURCE_REGION` | yes | region of the source vault |
| `KMS_BACKUP_LIVE_SOURCE_VAULT_ID` | yes | OCID of the source vault |
| `KMS_BACKUP_LIVE_TARGET_REGION` | yes | region of the target vault |
| `KMS_BACKUP_LIVE_TARGET_VAULT_ID` | yes | OCID of the target vault |
| `KMS_BACKUP_LIVE_CONFIG_FILE` | no | OCI config file (default `~/.oci/config`) |
"""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping

from kms_key_backup.canary import CANARY_TAG
from kms_key_backup.inventory import list_all

REQUIRED = (
    "KMS_BACKUP_LIVE_PROFILE",
    "KMS_BACKUP_LIVE_COMPARTMENT_ID",
    "KMS_BACKUP_LIVE_SOURCE_REGION",
    "KMS_BACKUP_LIVE_SOURCE_VAULT_ID",
    "KMS_BACKUP_LIVE_TARGET_REGION",
    "KMS_BACKUP_LIVE_TARGET_VAULT_ID",
)
CONFIG_FILE = "KMS_BACKUP_LIVE_CONFIG_FILE"


@dataclasses.dataclass(frozen=True)
class TenancySettings:
    config_file: str
    profile: str
    compartment_id: str
    source_region: str
    source_vault_id: str
    target_region: str
    target_vault_id: str


def tenancy_settings(environ: Mapping[str, str] | None = None) -> tuple[TenancySettings | None, str]:
    """Return the real-tenancy settings, or None and the reason the real-tenancy tests are skipped."""
    environ = os.environ if environ is None else environ
    missing = [name for name in REQUIRED if not environ.get(name)]
    if missing:
        return None, ("real-tenancy variant skipped: set " + ", ".join(missing)
                      + " (see docs/live-verification.md) to run it against your tenancy")
    values = [environ[name] for name in REQUIRED]
    config_file = environ.get(CONFIG_FILE) or os.path.expanduser("~/.oci/config")
    return TenancySettings(config_file, *values), ""


def snapshot_other_keys(place) -> dict:
    """Return state, versions and tags of every key in both vaults that is not a canary key, read with the SDK."""
    snapshot = {}
    for region, vault_id, compartment_id in place.vaults():
        vault = place.factory.get_vault(region, vault_id)
        management = place.factory.management_client(vault)
        compartments = {compartment_id, vault.compartment_id}
        for compartment in sorted(compartments):
            for summary in list_all(management.list_keys, compartment, limit=100):
                if CANARY_TAG in (summary.freeform_tags or {}):
                    continue
                key = management.get_key(summary.id).data
                versions = list_all(management.list_key_versions, summary.id, limit=100)
                snapshot[summary.id] = {
                    "lifecycle_state": key.lifecycle_state,
                    "current_key_version": key.current_key_version,
                    "freeform_tags": key.freeform_tags,
                    "defined_tags": key.defined_tags,
                    "display_name": key.display_name,
                    "versions": sorted((v.id, v.lifecycle_state) for v in versions),
                }
    return snapshot
