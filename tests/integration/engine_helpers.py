"""Checks of a target vault against the source, read from the emulator's own state."""

from __future__ import annotations

import dataclasses

from kms_emulator.models import version_material
from kms_emulator.testing import Kms
from kms_key_backup.clients import ClientFactory, build_retry_strategy
from kms_key_backup.plan import TAG_COPIED_VERSIONS, TAG_SOURCE_KEY_ID, TAG_SOURCE_VAULT_ID

SOURCE_REGION = "eu-frankfurt-1"
TARGET_REGION = "eu-stockholm-1"
COPYABLE = ("aes-1", "aes-2", "aes-4", "rsa-1", "rsa-3")
NOT_COPYABLE = ("hsm", "ecdsa", "disabled")


def fast_retry_strategy():
    """Retry like production, with backoff short enough for tests."""
    return build_retry_strategy(max_attempts=6, total_elapsed_time_seconds=30, base_sleep_seconds=0.01,
                                max_sleep_seconds=0.1)


def copies_by_source(emulator, source_vault_id: str, target_vault_id: str) -> dict[str, list]:
    """Map each source key OCID to the emulator's target keys whose provenance tags name it."""
    with emulator.state.lock:
        target = emulator.state.vaults[target_vault_id]
        copies: dict[str, list] = {}
        for key in target.keys.values():
            if key.freeform_tags.get(TAG_SOURCE_VAULT_ID) == source_vault_id:
                copies.setdefault(key.freeform_tags[TAG_SOURCE_KEY_ID], []).append(key)
        return copies


def exact_copy_problems(emulator, source_vault_id: str, target_vault_id: str, source_key_ids) -> list[str]:
    """List every way the target differs from an exact copy of the given source keys.

    An exact copy is one target key per source key, whose versions in creation order hold the
    source versions' material in the source's order, whose current version is the copy of the
    source's current version, and which does not auto-rotate.
    """
    problems = []
    copies = copies_by_source(emulator, source_vault_id, target_vault_id)
    with emulator.state.lock:
        source = emulator.state.vaults[source_vault_id]
        for key_id in source_key_ids:
            key = source.keys[key_id]
            found = copies.get(key_id, [])
            if len(found) != 1:
                problems.append(f"{key.display_name}: {len(found)} copies")
                continue
            copy = found[0]
            source_versions = sorted(key.versions, key=lambda v: (v.time_created, v.id))
            target_versions = sorted(copy.versions, key=lambda v: (v.time_created, v.id))
            if len(target_versions) != len(source_versions):
                problems.append(f"{key.display_name}: {len(target_versions)} target versions, "
                                f"{len(source_versions)} source versions")
                continue
            for index, (source_version, target_version) in enumerate(zip(source_versions, target_versions)):
                if version_material(key, source_version) != version_material(copy, target_version):
                    problems.append(f"{key.display_name}: version {index} material differs")
            position = [v.id for v in source_versions].index(key.current_version_id)
            if copy.current_version_id != target_versions[position].id:
                problems.append(f"{key.display_name}: target current version is not the copy of the source's")
            if copy.is_auto_rotation_enabled:
                problems.append(f"{key.display_name}: the copy auto-rotates")
            tag = copy.freeform_tags.get(TAG_COPIED_VERSIONS, "")
            if tag != f"{len(source_versions)}:{source_versions[-1].id}":
                problems.append(f"{key.display_name}: copied-versions tag is {tag!r}")
    return problems


def all_material(emulator) -> list[bytes]:
    """Return the key material of every version the emulator holds."""
    with emulator.state.lock:
        return [version_material(key, version) for vault in emulator.state.vaults.values()
                for key in vault.keys.values() for version in key.versions
                if key.protection_mode != "EXTERNAL"]


def export_and_import_calls(admin) -> list[dict]:
    return [call for call in admin.calls() if call["operation"] in ("ExportKey", "ImportKey", "ImportKeyVersion")]


@dataclasses.dataclass
class Vaults:
    kms: Kms
    source: object
    target: object
    compartment_id: str
    target_compartment_id: str


def make_vaults(emulator, oci_config, world) -> Vaults:
    kms = Kms(emulator, oci_config)
    source = kms.create_vault(world.main.compartment_id, region=SOURCE_REGION)
    target = kms.create_vault(world.main.second_compartment_id, region=TARGET_REGION)
    return Vaults(kms, source, target, world.main.compartment_id, world.main.second_compartment_id)


def seed_acceptance_keys(vaults: Vaults) -> dict:
    """Seed the acceptance scenario's keys; return their models by name."""
    kms, vault, compartment_id = vaults.kms, vaults.source, vaults.compartment_id
    keys = {}
    for name, versions in (("aes-1", 1), ("aes-2", 2), ("aes-4", 4)):
        keys[name] = kms.create_key(vault, compartment_id, algorithm="AES", length=32, name=name)
        for _ in range(versions - 1):
            kms.rotate(vault, keys[name].id)
    for name, versions in (("rsa-1", 1), ("rsa-3", 3)):
        keys[name] = kms.create_key(vault, compartment_id, algorithm="RSA", length=256, name=name)
        for _ in range(versions - 1):
            kms.rotate(vault, keys[name].id)
    keys["hsm"] = kms.create_key(vault, compartment_id, algorithm="AES", length=32, protection_mode="HSM", name="hsm")
    keys["ecdsa"] = kms.create_key(vault, compartment_id, algorithm="ECDSA", length=32, curve_id="NIST_P256",
                                   name="ecdsa")
    disabled = kms.create_key(vault, compartment_id, algorithm="AES", length=32, name="disabled")
    kms.management(vault).disable_key(disabled.id)
    keys["disabled"] = kms.wait_key(vault, disabled.id, "DISABLED")
    return keys


def make_factory(emulator, oci_config) -> ClientFactory:
    return ClientFactory(oci_config, kms_endpoint_template=emulator.kms_endpoint_template,
                         telemetry_endpoint_template=emulator.telemetry_endpoint_template,
                         retry_strategy=fast_retry_strategy(), requests_per_second=1000)


def make_job_data(vaults: Vaults) -> dict:
    return {
        "source": {"region": SOURCE_REGION, "vault_id": vaults.source.id},
        "targets": [{"region": TARGET_REGION, "vault_id": vaults.target.id,
                     "compartment_id": vaults.target_compartment_id}],
        "options": {"requests_per_second": 1000},
    }
