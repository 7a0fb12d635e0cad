"""Test helpers for code that runs against the emulator: API-key worlds, `oci` configs, and SDK clients.

Every client built here has no circuit breaker: the SDK's default one is shared by the whole
process and opens after ten 409, 429 or 5xx responses, which tests provoke on purpose.
"""

import dataclasses
import pathlib
import time

import oci
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import ocids
from .admin import AdminClient
from .crypto import fingerprint_of_public_key

HOME_REGION = "eu-frankfurt-1"
WAIT = {"max_wait_seconds": 10, "max_interval_seconds": 0.02}
models = oci.key_management.models


@dataclasses.dataclass(frozen=True)
class ApiKey:
    """An API-key pair and its OCI fingerprint (MD5 of the DER public key)."""

    private_pem: str
    public_pem: str
    fingerprint: str


def new_api_key(bits: int = 2048) -> ApiKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode("ascii")
    public_pem = private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return ApiKey(private_pem, public_pem, fingerprint_of_public_key(private_key.public_key()))


@dataclasses.dataclass(frozen=True)
class TenancyIds:
    tenancy_id: str
    compartment_id: str
    second_compartment_id: str
    user_id: str

    @classmethod
    def new(cls) -> "TenancyIds":
        return cls(ocids.new_tenancy_id(), ocids.new_compartment_id(), ocids.new_compartment_id(), ocids.new_user_id())


@dataclasses.dataclass(frozen=True)
class World:
    """Two tenancies ("main" and "other"), each with two compartments and one user of the same API key."""

    main: TenancyIds
    other: TenancyIds
    api_key: ApiKey

    @classmethod
    def new(cls, api_key: ApiKey) -> "World":
        return cls(TenancyIds.new(), TenancyIds.new(), api_key)

    def seed(self) -> dict:
        return {"tenancies": [
            {"id": ids.tenancy_id, "compartments": [ids.compartment_id, ids.second_compartment_id],
             "users": [{"id": ids.user_id, "fingerprint": self.api_key.fingerprint,
                        "public_key_pem": self.api_key.public_pem}]}
            for ids in (self.main, self.other)
        ]}


def make_oci_config(world: World, directory, region: str = HOME_REGION, tenancy: str = "main") -> dict:
    """Write the API key to `directory` (mode 0600) and return a validated `oci` config for that tenancy's user."""
    ids = world.main if tenancy == "main" else world.other
    key_file = pathlib.Path(directory) / f"api_key_{tenancy}.pem"
    key_file.write_text(world.api_key.private_pem)
    key_file.chmod(0o600)
    config = {"user": ids.user_id, "fingerprint": world.api_key.fingerprint, "tenancy": ids.tenancy_id,
              "region": region, "key_file": str(key_file)}
    oci.config.validate_config(config)
    return config


def no_circuit_breaker() -> dict:
    return {"circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy()}


class Kms:
    """SDK clients for one principal against one emulator, with shortcuts that wait for lifecycle states."""

    def __init__(self, emulator, config: dict, signer=None):
        self.emulator = emulator
        self.config = config
        self.signer = signer
        self.admin = AdminClient(emulator.url)

    def wait_state(self, client, fetch, state: str):
        """Wait until `fetch()` (a get call) returns `state`, with `oci.wait_until`.

        `oci.wait_until` sleeps a whole second before its first poll, so the emulator's lifecycle
        delay is waited out first and the waiter then usually returns at once.
        """
        response = fetch()
        if response.data.lifecycle_state != state:
            time.sleep(self.admin.settings()["lifecycle_delay_ms"] / 1000.0 + 0.005)
            response = fetch()
        return oci.wait_until(client, response, "lifecycle_state", state, **WAIT).data

    def _kwargs(self) -> dict:
        return {**no_circuit_breaker(), **({"signer": self.signer} if self.signer else {})}

    def vault_client(self, region: str = HOME_REGION) -> oci.key_management.KmsVaultClient:
        endpoint = self.emulator.kms_endpoint_template.format(region=region)
        return oci.key_management.KmsVaultClient(self.config, service_endpoint=endpoint, **self._kwargs())

    def management(self, vault) -> oci.key_management.KmsManagementClient:
        return oci.key_management.KmsManagementClient(self.config, service_endpoint=vault.management_endpoint,
                                                      **self._kwargs())

    def crypto(self, vault) -> oci.key_management.KmsCryptoClient:
        return oci.key_management.KmsCryptoClient(self.config, service_endpoint=vault.crypto_endpoint, **self._kwargs())

    def monitoring(self, region: str = HOME_REGION) -> oci.monitoring.MonitoringClient:
        endpoint = self.emulator.telemetry_endpoint_template.format(region=region)
        return oci.monitoring.MonitoringClient(self.config, service_endpoint=endpoint, **self._kwargs())

    def create_vault(self, compartment_id: str, region: str = HOME_REGION, vault_type: str = "DEFAULT"):
        client = self.vault_client(region)
        details = models.CreateVaultDetails(compartment_id=compartment_id, display_name=f"vault-{region}",
                                            vault_type=vault_type)
        vault = client.create_vault(details).data
        return self.wait_state(client, lambda: client.get_vault(vault.id), "ACTIVE")

    def create_key(self, vault, compartment_id: str, algorithm: str = "AES", length: int = 32,
                   protection_mode: str = "SOFTWARE", name: str = "key", curve_id: str | None = None, tags=None):
        client = self.management(vault)
        shape = models.KeyShape(algorithm=algorithm, length=length, curve_id=curve_id)
        details = models.CreateKeyDetails(compartment_id=compartment_id, display_name=name, key_shape=shape,
                                          protection_mode=protection_mode, freeform_tags=tags)
        key = client.create_key(details).data
        return self.wait_key(vault, key.id)

    def wait_key(self, vault, key_id: str, state: str = "ENABLED"):
        client = self.management(vault)
        return self.wait_state(client, lambda: client.get_key(key_id), state)

    def wait_key_version(self, vault, key_id: str, key_version_id: str, state: str = "ENABLED"):
        client = self.management(vault)
        return self.wait_state(client, lambda: client.get_key_version(key_id, key_version_id), state)

    def rotate(self, vault, key_id: str):
        """Create a key version, wait until it and the key are ENABLED, and return the version."""
        version = self.management(vault).create_key_version(key_id).data
        self.wait_key_version(vault, key_id, version.id)
        self.wait_key(vault, key_id)
        return version
