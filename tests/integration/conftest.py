"""Fixtures for engine tests against the emulator: vaults, seeded source keys, a client factory, a job.

`engine_helpers.seed_acceptance_keys` seeds a source vault (eu-frankfurt-1) as the acceptance scenario
describes: AES-256 keys with 1, 2 and 4 versions, RSA-2048 keys with 1 and 3 versions, one HSM
key, one ECDSA key and one DISABLED key. The target vault is in eu-stockholm-1.
"""

from __future__ import annotations

import pytest

from engine_helpers import make_factory, make_job_data, make_vaults, seed_acceptance_keys
from kms_key_backup.job import parse_job


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
