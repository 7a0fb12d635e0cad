"""Fixtures of the CLI tests: a seeded emulator, an OCI config file and the user's wrapping key pair.

`cli_world` seeds the `emulator` fixture with a source vault in eu-frankfurt-1 (an AES-256 key with
two versions, an RSA-2048 key with two versions), a target vault in eu-stockholm-1 and a third vault
in eu-amsterdam-1, all in the main tenancy, and points the CLI at the emulator through
KMS_BACKUP_KMS_ENDPOINT_TEMPLATE. `run_cli` runs `main([...])` in-process and captures its output.
"""

import dataclasses
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kms_emulator.testing import make_oci_config
from kms_key_backup import cli


@dataclasses.dataclass(frozen=True)
class CliWorld:
    server: object
    config_file: str
    compartment_id: str
    source_vault_id: str
    target_vault_id: str
    third_vault_id: str
    aes_key_id: str
    rsa_key_id: str
    public_key_file: str
    private_key_file: str

    def key(self, vault_id, key_id):
        return self.server.state.vaults[vault_id].keys[key_id]


@dataclasses.dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture(scope="session")
def user_wrapping_key():
    """The user's RSA-2048 wrapping key pair of export-only, generated once per session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_oci_config_file(path, profiles):
    lines = []
    for name, config in profiles.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key}={value}" for key, value in config.items())
        lines.append("")
    path.write_text("\n".join(lines))
    return str(path)


@pytest.fixture
def cli_world(emulator, world, tmp_path, monkeypatch, user_wrapping_key):
    ids = world.main
    created = emulator.state.add_world({"vaults": [
        {"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id, "region": "eu-frankfurt-1",
         "display_name": "source", "keys": [
             {"display_name": "aes-two", "algorithm": "AES", "length": 32, "protection_mode": "SOFTWARE", "versions": 2},
             {"display_name": "rsa-two", "algorithm": "RSA", "length": 256, "protection_mode": "SOFTWARE", "versions": 2},
         ]},
        {"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id, "region": "eu-stockholm-1",
         "display_name": "target"},
        {"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id, "region": "eu-amsterdam-1",
         "display_name": "third"},
    ]})
    source, target, third = created["vaults"]

    config = make_oci_config(world, tmp_path)
    config_file = write_oci_config_file(tmp_path / "oci_config", {
        "DEFAULT": config,
        "my-config-fra": config,
        "my-config-ams": dict(config, region="eu-stockholm-1"),
    })
    monkeypatch.setenv("KMS_BACKUP_KMS_ENDPOINT_TEMPLATE", emulator.kms_endpoint_template)
    monkeypatch.setenv("KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE", emulator.telemetry_endpoint_template)
    for name in ("OCI_CLI_AUTH", "OCI_CLI_CONFIG_FILE", "OCI_CLI_PROFILE", "OCI_RESOURCE_PRINCIPAL_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    public_key_file = tmp_path / "export_pub.pem"
    public_key_file.write_bytes(user_wrapping_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    private_key_file = tmp_path / "export_private.pem"
    private_key_file.write_bytes(user_wrapping_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    return CliWorld(
        server=emulator, config_file=config_file, compartment_id=ids.compartment_id,
        source_vault_id=source["id"], target_vault_id=target["id"], third_vault_id=third["id"],
        aes_key_id=source["keys"][0], rsa_key_id=source["keys"][1],
        public_key_file=str(public_key_file), private_key_file=str(private_key_file),
    )


@pytest.fixture
def run_cli(capsys):
    def run(*argv):
        exit_code = cli.main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return CliResult(exit_code, captured.out, captured.err)

    return run
