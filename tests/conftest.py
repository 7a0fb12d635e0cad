"""Shared fixtures: a KMS emulator per test and `oci` configs for its API-key users.

- `api_key` (session): one RSA-2048 API-key pair reused by every test, since key generation is slow.
- `world` (session): OCIDs of two tenancies ("main" and "other"), each with two compartments and one
  API-key user, as a seed object plus the ids tests need.
- `emulator` (per test): a fresh `EmulatorServer` on 127.0.0.1 and a free port, seeded with `world`,
  with a 20 ms lifecycle delay; it stops when the test ends.
- `oci_config` (per test): an `oci` config dict for the main tenancy's user in eu-frankfurt-1, with
  the private key written to a temporary file. `make_oci_config` builds one for another tenancy or region.
"""

import dataclasses

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kms_emulator import EmulatorServer
from kms_emulator import ocids
from kms_emulator.crypto import fingerprint_of_public_key

HOME_REGION = "eu-frankfurt-1"


@dataclasses.dataclass(frozen=True)
class ApiKey:
    private_pem: str
    public_pem: str
    fingerprint: str


@dataclasses.dataclass(frozen=True)
class TenancyIds:
    tenancy_id: str
    compartment_id: str
    second_compartment_id: str
    user_id: str


@dataclasses.dataclass(frozen=True)
class World:
    main: TenancyIds
    other: TenancyIds
    api_key: ApiKey

    def seed(self) -> dict:
        return {"tenancies": [
            {"id": ids.tenancy_id, "compartments": [ids.compartment_id, ids.second_compartment_id],
             "users": [{"id": ids.user_id, "fingerprint": self.api_key.fingerprint,
                        "public_key_pem": self.api_key.public_pem}]}
            for ids in (self.main, self.other)
        ]}


@pytest.fixture(scope="session")
def api_key() -> ApiKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode("ascii")
    public_pem = private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return ApiKey(private_pem, public_pem, fingerprint_of_public_key(private_key.public_key()))


def _tenancy_ids() -> TenancyIds:
    return TenancyIds(ocids.new_tenancy_id(), ocids.new_compartment_id(), ocids.new_compartment_id(), ocids.new_user_id())


@pytest.fixture(scope="session")
def world(api_key) -> World:
    return World(_tenancy_ids(), _tenancy_ids(), api_key)


@pytest.fixture
def emulator(world):
    with EmulatorServer(host="127.0.0.1", port=0, seed=world.seed(), lifecycle_delay_ms=20) as server:
        yield server


def make_oci_config(world: World, directory, region: str = HOME_REGION, tenancy: str = "main") -> dict:
    """Write the API key to `directory` and return a validated `oci` config for that tenancy's user."""
    ids = world.main if tenancy == "main" else world.other
    key_file = directory / "api_key.pem"
    key_file.write_text(world.api_key.private_pem)
    key_file.chmod(0o600)
    config = {"user": ids.user_id, "fingerprint": world.api_key.fingerprint, "tenancy": ids.tenancy_id,
              "region": region, "key_file": str(key_file)}
    oci.config.validate_config(config)
    return config


@pytest.fixture
def oci_config(world, tmp_path) -> dict:
    return make_oci_config(world, tmp_path)
