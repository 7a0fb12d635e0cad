"""Fixtures for engine tests against the emulator: vaults, seeded source keys, a client factory, a job.

`seed_acceptance_keys` seeds a source vault (eu-frankfurt-1) as the acceptance scenario
describes: AES-256 keys with 1, 2 and 4 versions, RSA-2048 keys with 1 and 3 versions, one HSM
key, one ECDSA key and one DISABLED key. The target vault is in eu-stockholm-1.
"""

from __future__ import annotations

import dataclasses

import pytest

from engine_helpers import SOURCE_REGION, TARGET_REGION, fast_retry_strategy
from kms_emulator.testing import Kms
from kms_key_backup.clients import ClientFactory
from kms_key_backup.job import parse_job


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


@pytest.fixture
def vaults(emulator, oci_config, world) -> Vaults:
    return make_vaults(emulator, oci_config, world)


@pytest.fixture
def small_keys(vaults) -> dict:
    """An AES key with 2 versions and an RSA key with 3 versions."""
    kms, vault, compartment_id = vaults.kms, vaults.source, vaults.compartment_id
    keys = {"aes-2": kms.create_key(vault, compartment_id, algorithm="AES", length=32, name="aes-2"),
            "rsa-3": kms.create_key(vault, compartment_id, algorithm="RSA", length=256, name="rsa-3")}
    kms.rotate(vault, keys["aes-2"].id)
    kms.rotate(vault, keys["rsa-3"].id)
    kms.rotate(vault, keys["rsa-3"].id)
    return keys


@pytest.fixture
def factory(emulator, oci_config) -> ClientFactory:
    return make_factory(emulator, oci_config)


@pytest.fixture
def job_data(vaults) -> dict:
    return make_job_data(vaults)


@pytest.fixture
def job(job_data):
    return parse_job(job_data)
