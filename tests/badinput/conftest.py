"""Fixtures of the bad-input catalogue: a seeded emulator, an OCI config file and a valid job to break.

`bad_world` seeds a source vault (eu-frankfurt-1, one AES key) and a target vault (eu-stockholm-1),
writes an OCI config file for the main tenancy's user and points the CLI at the emulator. Every
case then breaks one input and checks that the emulator's call log holds no write call.
"""

import dataclasses

import pytest

from kms_emulator import AdminClient
from kms_emulator.testing import make_oci_config

from badinput_helpers import SOURCE_REGION, TARGET_REGION


@dataclasses.dataclass(frozen=True)
class BadWorld:
    emulator: object
    admin: AdminClient
    oci_config: dict
    config_file: str
    tenancy_id: str
    compartment_id: str
    target_compartment_id: str
    source_vault_id: str
    target_vault_id: str
    key_id: str
    key_version_id: str
    directory: object

    def job(self) -> dict:
        """Return a valid job document for the seeded vaults."""
        return {"source": {"region": SOURCE_REGION, "vault_id": self.source_vault_id},
                "targets": [{"region": TARGET_REGION, "vault_id": self.target_vault_id,
                             "compartment_id": self.target_compartment_id}]}

    def write_calls(self) -> list[dict]:
        return [call for call in self.admin.calls() if call["write"]]


@pytest.fixture
def bad_world(emulator, world, tmp_path, monkeypatch) -> BadWorld:
    ids = world.main
    created = emulator.state.add_world({"vaults": [
        {"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id, "region": SOURCE_REGION,
         "display_name": "source", "keys": [{"display_name": "aes", "algorithm": "AES", "length": 32, "versions": 2}]},
        {"tenancy_id": ids.tenancy_id, "compartment_id": ids.second_compartment_id, "region": TARGET_REGION,
         "display_name": "target"},
    ]})
    source, target = created["vaults"]
    key_id = source["keys"][0]
    key_version_id = emulator.state.vaults[source["id"]].keys[key_id].current_version_id

    config = make_oci_config(world, tmp_path)
    config_file = tmp_path / "oci_config"
    config_file.write_text("[DEFAULT]\n" + "".join(f"{name}={value}\n" for name, value in config.items()))
    monkeypatch.setenv("KMS_BACKUP_KMS_ENDPOINT_TEMPLATE", emulator.kms_endpoint_template)
    monkeypatch.setenv("KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE", emulator.telemetry_endpoint_template)
    monkeypatch.setenv("OCI_CLI_CONFIG_FILE", str(config_file))
    for name in ("OCI_CLI_AUTH", "OCI_CLI_PROFILE", "OCI_RESOURCE_PRINCIPAL_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    admin = AdminClient(emulator.url)
    admin.clear_calls()
    return BadWorld(emulator=emulator, admin=admin, oci_config=config, config_file=str(config_file),
                    tenancy_id=ids.tenancy_id, compartment_id=ids.compartment_id,
                    target_compartment_id=ids.second_compartment_id, source_vault_id=source["id"],
                    target_vault_id=target["id"], key_id=key_id, key_version_id=key_version_id,
                    directory=tmp_path)

