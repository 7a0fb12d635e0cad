"""Fixtures for the emulator's own tests: SDK clients for both tenancies, an ACTIVE vault, a caller key."""

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kms_emulator.testing import Kms, make_oci_config


@pytest.fixture
def kms(emulator, oci_config) -> Kms:
    return Kms(emulator, oci_config)


@pytest.fixture
def other_kms(emulator, world, tmp_path) -> Kms:
    return Kms(emulator, make_oci_config(world, tmp_path, tenancy="other"))


@pytest.fixture
def vault(kms, world):
    return kms.create_vault(world.main.compartment_id)


@pytest.fixture(scope="session")
def caller_key_3072():
    """The RSA-3072 key a caller exports under, made once per session because generation is slow."""
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)
