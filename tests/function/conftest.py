"""Fixtures that run func.py through the real fdk, signed as a resource principal, on the emulator.

- ``session_key`` (session): the RSA key pair of the resource-principal session, made once.
- ``vaults``: a source vault in eu-frankfurt-1 seeded with AES keys and keys that cannot be
  copied (HSM, ECDSA, DISABLED), and an empty target vault in eu-stockholm-1.
- ``function_environment``: the environment OCI Functions would give the function: the
  resource-principal variables (token and private key as absolute file paths, version 2.2,
  region) and the ``KMS_BACKUP_*`` configuration pointing at the emulator.
- ``start_function``: starts ``fdk func.py handler`` on a unix socket with that environment
  (optionally changed); every process it starts is stopped when the test ends.
"""

import dataclasses
import json
import os
import uuid
from pathlib import Path

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kms_emulator import AdminClient
from kms_key_backup.function.local import LocalFunction

REPOSITORY = Path(__file__).resolve().parents[2]
FUNC_PATH = REPOSITORY / "func.py"
SOURCE_REGION = "eu-frankfurt-1"
TARGET_REGION = "eu-stockholm-1"


@dataclasses.dataclass(frozen=True)
class SessionKey:
    private_pem: str
    public_pem: str


@dataclasses.dataclass(frozen=True)
class Vaults:
    source_vault_id: str
    target_vault_id: str
    compartment_id: str
    target_compartment_id: str
    tenancy_id: str
    keys: dict
    """Source key OCIDs by display name."""
    source_management_endpoint: str
    target_management_endpoint: str


@pytest.fixture(scope="session")
def session_key() -> SessionKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode("ascii")
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return SessionKey(private_pem, public_pem)


@pytest.fixture
def admin(emulator) -> AdminClient:
    return AdminClient(emulator.url)


def seed_vaults(admin: AdminClient, world, source_keys: list[dict]) -> Vaults:
    """Seed a source vault with ``source_keys`` and an empty target vault."""
    ids = world.main
    created = admin.seed({"vaults": [
        {"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id,
         "region": SOURCE_REGION, "display_name": "source", "keys": source_keys},
        {"tenancy_id": ids.tenancy_id, "compartment_id": ids.second_compartment_id,
         "region": TARGET_REGION, "display_name": "target", "keys": []},
    ]})
    source, target = created["vaults"]
    names = [key["display_name"] for key in source_keys]
    return Vaults(
        source_vault_id=source["id"], target_vault_id=target["id"],
        compartment_id=ids.compartment_id, target_compartment_id=ids.second_compartment_id,
        tenancy_id=ids.tenancy_id, keys=dict(zip(names, source["keys"])),
        source_management_endpoint=source["management_endpoint"],
        target_management_endpoint=target["management_endpoint"],
    )


MIXED_KEYS = [
    {"display_name": "payments", "algorithm": "AES", "length": 32, "versions": 3,
     "freeform_tags": {"backup": "true"}},
    {"display_name": "orders", "algorithm": "AES", "length": 16, "versions": 1,
     "freeform_tags": {"backup": "true"}},
    {"display_name": "ledger", "algorithm": "AES", "length": 24, "versions": 2},
    {"display_name": "hsm-key", "algorithm": "AES", "length": 32, "protection_mode": "HSM"},
    {"display_name": "signing", "algorithm": "ECDSA", "length": 32, "curve_id": "NIST_P256"},
    {"display_name": "retired", "algorithm": "AES", "length": 32, "lifecycle_state": "DISABLED"},
]


@pytest.fixture
def vaults(admin, world) -> Vaults:
    return seed_vaults(admin, world, MIXED_KEYS)


@pytest.fixture
def seed(admin, world):
    """Return a function that seeds another source and target vault pair with given keys."""
    return lambda source_keys: seed_vaults(admin, world, source_keys)


@pytest.fixture
def function_id() -> str:
    """The OCID of the function whose resource principal signs the test's requests."""
    return "ocid1.fnfunc.oc1.eu-frankfurt-1." + uuid.uuid4().hex


@pytest.fixture
def function_environment(tmp_path, emulator, admin, world, vaults, session_key,
                         function_id) -> dict:
    token = admin.resource_principal_token(world.main.tenancy_id, world.main.compartment_id,
                                           function_id, session_key.public_pem)
    secrets = tmp_path / "rp"
    secrets.mkdir()
    token_path = secrets / "rpst"
    token_path.write_text(token)
    key_path = secrets / "private.pem"
    key_path.write_text(session_key.private_pem)
    key_path.chmod(0o600)

    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # The function image puts /function on PYTHONPATH; here the repository root plays it.
        "PYTHONPATH": str(REPOSITORY),
        "HOME": str(tmp_path),
        "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
        "OCI_RESOURCE_PRINCIPAL_RPST": str(token_path),
        "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(key_path),
        "OCI_RESOURCE_PRINCIPAL_REGION": SOURCE_REGION,
        "KMS_BACKUP_SOURCE_REGION": SOURCE_REGION,
        "KMS_BACKUP_SOURCE_VAULT_ID": vaults.source_vault_id,
        "KMS_BACKUP_TARGETS": json.dumps([{
            "region": TARGET_REGION, "vault_id": vaults.target_vault_id,
            "compartment_id": vaults.target_compartment_id}]),
        "KMS_BACKUP_KMS_ENDPOINT_TEMPLATE": emulator.kms_endpoint_template,
        "KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE": emulator.telemetry_endpoint_template,
    }


@pytest.fixture
def start_function(tmp_path, function_environment):
    started = []

    def start(**changes) -> LocalFunction:
        environment = dict(function_environment)
        for name, value in changes.items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        function = LocalFunction(FUNC_PATH, environment, tmp_path / f"fdk{len(started)}")
        started.append(function)
        function.start()
        return function

    yield start
    for function in started:
        function.stop()


@pytest.fixture
def management(oci_config):
    """Return a function that builds an API-key KmsManagementClient for a management endpoint."""
    def build(endpoint: str) -> oci.key_management.KmsManagementClient:
        return oci.key_management.KmsManagementClient(
            oci_config, service_endpoint=endpoint,
            circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy())
    return build
