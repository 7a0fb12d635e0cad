"""Fixtures of the canary tests: a place to run (the emulator, or a real tenancy), a job and snapshots.

`place` is parametrized. `emulator` seeds the `emulator` fixture with a source vault in
eu-frankfurt-1 and a target vault in eu-stockholm-1, each containing keys the canary must leave
alone. `tenancy` uses the vaults named by the KMS_BACKUP_LIVE_* variables (tests/canary/canary_helpers.py),
and is skipped with the reason when they are not set. `run_cli` runs `main([...])` in-process.
"""

from __future__ import annotations

import dataclasses
import json

import oci
import pytest

from kms_emulator.testing import make_oci_config
from kms_key_backup import cli
from kms_key_backup.clients import ClientFactory

from canary_helpers import tenancy_settings

SOURCE_REGION = "eu-frankfurt-1"
TARGET_REGION = "eu-stockholm-1"


@dataclasses.dataclass
class Place:
    name: str
    cli_auth: list[str]
    factory: ClientFactory
    job_file: str
    job: dict
    emulator: object = None

    def vaults(self):
        """Return (region, vault_id, compartment_id) of the source and the target."""
        return [(self.job["source"]["region"], self.job["source"]["vault_id"],
                 self.job["targets"][0]["compartment_id"]),
                (self.job["targets"][0]["region"], self.job["targets"][0]["vault_id"],
                 self.job["targets"][0]["compartment_id"])]


@dataclasses.dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def write_oci_config_file(path, config: dict) -> str:
    path.write_text("[DEFAULT]\n" + "".join(f"{name}={value}\n" for name, value in config.items()))
    return str(path)


def _emulator_place(request, tmp_path, monkeypatch) -> Place:
    emulator = request.getfixturevalue("emulator")
    world = request.getfixturevalue("world")
    ids = world.main
    created = emulator.state.add_world({"vaults": [
        {"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id, "region": SOURCE_REGION,
         "display_name": "source", "keys": [
             {"display_name": "app-aes", "algorithm": "AES", "length": 32, "protection_mode": "SOFTWARE",
              "versions": 2, "freeform_tags": {"team": "payments"}},
             {"display_name": "app-rsa", "algorithm": "RSA", "length": 256, "protection_mode": "SOFTWARE",
              "versions": 1},
             {"display_name": "retired", "algorithm": "AES", "length": 16, "protection_mode": "SOFTWARE",
              "versions": 1, "lifecycle_state": "DISABLED"},
         ]},
        {"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id, "region": TARGET_REGION,
         "display_name": "target", "keys": [
             {"display_name": "local-key", "algorithm": "AES", "length": 32, "protection_mode": "SOFTWARE",
              "versions": 1, "freeform_tags": {"owner": "dr"}},
         ]},
    ]})
    source, target = created["vaults"]
    config = make_oci_config(world, tmp_path)
    config_file = write_oci_config_file(tmp_path / "oci_config", config)
    monkeypatch.setenv("KMS_BACKUP_KMS_ENDPOINT_TEMPLATE", emulator.kms_endpoint_template)
    factory = ClientFactory(config, kms_endpoint_template=emulator.kms_endpoint_template)
    job = {"source": {"region": SOURCE_REGION, "vault_id": source["id"]},
           "targets": [{"region": TARGET_REGION, "vault_id": target["id"], "compartment_id": ids.compartment_id}]}
    return Place("emulator", ["--config-file", config_file], factory, _write_job(tmp_path, job), job, emulator)


def _tenancy_place(tmp_path, monkeypatch) -> Place:
    settings, reason = tenancy_settings()
    if settings is None:
        pytest.skip(reason)
    # The real tenancy is reached only through the SDK's regional endpoints and the vaults' own.
    monkeypatch.delenv("KMS_BACKUP_KMS_ENDPOINT_TEMPLATE", raising=False)
    monkeypatch.delenv("KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE", raising=False)
    config = oci.config.from_file(settings.config_file, settings.profile)
    factory = ClientFactory(config)
    job = {"source": {"region": settings.source_region, "vault_id": settings.source_vault_id,
                      "compartment_ids": [settings.compartment_id]},
           "targets": [{"region": settings.target_region, "vault_id": settings.target_vault_id,
                        "compartment_id": settings.compartment_id}]}
    return Place("tenancy", ["--auth", "api_key", "--config-file", settings.config_file, "--profile", settings.profile],
                 factory, _write_job(tmp_path, job), job)


def _write_job(tmp_path, job: dict) -> str:
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    return str(path)


@pytest.fixture(params=["emulator", "tenancy"])
def place(request, tmp_path, monkeypatch) -> Place:
    for name in ("OCI_CLI_AUTH", "OCI_CLI_CONFIG_FILE", "OCI_CLI_PROFILE", "OCI_RESOURCE_PRINCIPAL_VERSION"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "emulator":
        return _emulator_place(request, tmp_path, monkeypatch)
    return _tenancy_place(tmp_path, monkeypatch)


@pytest.fixture
def emulator_place(request, tmp_path, monkeypatch) -> Place:
    return _emulator_place(request, tmp_path, monkeypatch)


@pytest.fixture
def run_cli(capsys):
    def run(*argv):
        exit_code = cli.main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return CliResult(exit_code, captured.out, captured.err)

    return run
