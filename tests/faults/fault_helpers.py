"""A source and target vault pair seeded per scenario, the engine's client factory, and copy checks.

Each scenario seeds its own source vault into the test's emulator, so one emulator serves many
runs. The checks read the emulator's own state: one copy per source key, every source version's
material in the copy in source order, and the provenance tag matching what was copied.
"""

from __future__ import annotations

import dataclasses

from kms_emulator import AdminClient
from kms_emulator.models import version_material
from kms_key_backup.clients import ClientFactory, build_retry_strategy
from kms_key_backup.engine import run_job
from kms_key_backup.job import parse_job
from kms_key_backup.plan import TAG_COPIED_VERSIONS, TAG_SOURCE_KEY_ID

SOURCE_REGION = "eu-frankfurt-1"
TARGET_REGION = "eu-stockholm-1"
# Three keys and five versions: an AES key with two versions, one with one, an RSA key with two.
SOURCE_KEYS = [
    {"display_name": "aes-two", "algorithm": "AES", "length": 32, "versions": 2},
    {"display_name": "aes-one", "algorithm": "AES", "length": 16, "versions": 1},
    {"display_name": "rsa-two", "algorithm": "RSA", "length": 256, "versions": 2},
]


@dataclasses.dataclass(frozen=True)
class Pair:
    emulator: object
    admin: AdminClient
    oci_config: dict
    source_vault_id: str
    target_vault_id: str
    target_compartment_id: str
    key_ids: list

    def job(self, **options):
        return parse_job({
            "source": {"region": SOURCE_REGION, "vault_id": self.source_vault_id},
            "targets": [{"region": TARGET_REGION, "vault_id": self.target_vault_id,
                         "compartment_id": self.target_compartment_id}],
            "options": {"requests_per_second": 1000, "concurrency": 2, **options},
        })

    def factory(self, retry_strategy=None, **kwargs) -> ClientFactory:
        """Return a new factory, so no vault record or client of an earlier run is reused."""
        return ClientFactory(self.oci_config, kms_endpoint_template=self.emulator.kms_endpoint_template,
                             telemetry_endpoint_template=self.emulator.telemetry_endpoint_template,
                             retry_strategy=retry_strategy or fast_retry_strategy(), requests_per_second=1000,
                             **kwargs)

    def sync(self, factory: ClientFactory | None = None, **options) -> dict:
        return run_job(self.job(**options), factory or self.factory()).to_dict()

    def copy_problems(self) -> list[str]:
        return copy_problems(self.emulator, self.source_vault_id, self.target_vault_id)


def fast_retry_strategy():
    """Retry like production, with backoff short enough for tests."""
    return build_retry_strategy(max_attempts=6, total_elapsed_time_seconds=30, base_sleep_seconds=0.01,
                                max_sleep_seconds=0.05)


def no_retry_strategy():
    """Try every call once. ``oci.retry.NoneRetryStrategy`` lacks the circuit-breaker hook clients need."""
    return build_retry_strategy(max_attempts=1, total_elapsed_time_seconds=30)


def seed_pair(emulator, world, oci_config, keys=SOURCE_KEYS, target: Pair | None = None) -> Pair:
    """Seed a source vault with ``keys`` and, unless ``target`` gives one to reuse, an empty target vault.

    The emulator makes a vault's RSA-4096 wrapping key on first use, which takes seconds, so runs
    that need many fresh sources share one target vault.
    """
    admin = AdminClient(emulator.url)
    ids = world.main
    vaults = [{"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id, "region": SOURCE_REGION,
               "display_name": "source", "keys": keys}]
    if target is None:
        vaults.append({"tenancy_id": ids.tenancy_id, "compartment_id": ids.second_compartment_id,
                       "region": TARGET_REGION, "display_name": "target", "keys": []})
    created = admin.seed({"vaults": vaults})["vaults"]
    target_vault_id = target.target_vault_id if target is not None else created[1]["id"]
    return Pair(emulator, admin, oci_config, created[0]["id"], target_vault_id, ids.second_compartment_id,
                list(created[0]["keys"]))


def _copies_by_source(target) -> dict:
    copies: dict = {}
    for key in target.keys.values():
        copies.setdefault(key.freeform_tags.get(TAG_SOURCE_KEY_ID), []).append(key)
    return copies


def copy_problems(emulator, source_vault_id: str, target_vault_id: str) -> list[str]:
    """List every way the target differs from an exact copy of the source's keys."""
    problems = []
    with emulator.state.lock:
        source = emulator.state.vaults[source_vault_id]
        copies = _copies_by_source(emulator.state.vaults[target_vault_id])
        if None in copies:
            problems.append(f"{len(copies[None])} target key(s) without provenance tags")
        for key in source.keys.values():
            found = copies.get(key.id, [])
            if len(found) != 1:
                problems.append(f"{key.display_name}: {len(found)} copies")
                continue
            copy = found[0]
            source_versions = sorted(key.versions, key=lambda v: v.time_created)
            target_versions = sorted(copy.versions, key=lambda v: v.time_created)
            if len(target_versions) != len(source_versions):
                problems.append(f"{key.display_name}: {len(target_versions)} target versions, "
                                f"{len(source_versions)} source versions")
                continue
            for index, (source_version, target_version) in enumerate(zip(source_versions, target_versions)):
                if version_material(key, source_version) != version_material(copy, target_version):
                    problems.append(f"{key.display_name}: version {index} material differs")
            tag = copy.freeform_tags.get(TAG_COPIED_VERSIONS, "")
            if tag != f"{len(source_versions)}:{source_versions[-1].id}":
                problems.append(f"{key.display_name}: copied-versions tag is {tag!r}")
    return problems


def duplicate_problems(emulator, source_vault_id: str, target_vault_id: str) -> list[str]:
    """List duplicates only: a source key with two copies, or a copy with more versions than its source."""
    problems = []
    with emulator.state.lock:
        source = emulator.state.vaults[source_vault_id]
        copies = _copies_by_source(emulator.state.vaults[target_vault_id])
        for key in source.keys.values():
            found = copies.get(key.id, [])
            if len(found) > 1:
                problems.append(f"{key.display_name}: {len(found)} copies")
            for copy in found:
                if len(copy.versions) > len(key.versions):
                    problems.append(f"{key.display_name}: copy has {len(copy.versions)} versions, "
                                    f"source {len(key.versions)}")
    return problems


def escaped_circuit_breaker(report: dict) -> bool:
    return "CircuitBreaker" in repr(report)
