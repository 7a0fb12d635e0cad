"""Export-only, inspect and restore against the emulator, through the real SDK and CLI entry point."""

import json
import os
import stat

import pytest

from kms_emulator import AdminClient
from kms_key_backup import keywrap


def export_aes(run_cli, cli_world, *extra):
    return run_cli(
        "export", "--config-file", cli_world.config_file, "--region", "eu-frankfurt-1",
        "--vault-id", cli_world.source_vault_id, "--key-id", cli_world.aes_key_id,
        "--wrapping-public-key", cli_world.public_key_file, "--output-file", "aes.json", "--output", "json", *extra,
    )


def test_export_file_mode_0600(run_cli, cli_world, tmp_path):
    result = export_aes(run_cli, cli_world)

    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "aes.json").st_mode) == 0o600


def test_export_output_hides_material_and_blob(run_cli, cli_world, tmp_path):
    result = export_aes(run_cli, cli_world)
    blob = exportfile_blob(tmp_path / "aes.json")

    assert result.exit_code == 0, result.stderr
    assert blob not in result.stdout + result.stderr
    for material in cli_world.server.state.secret_material():
        assert material.hex() not in result.stdout + result.stderr


def exportfile_blob(path):
    import json

    return json.loads(path.read_text())["encrypted_key"]


@pytest.mark.parametrize("key_attribute", ["aes_key_id", "rsa_key_id"])
def test_inspect_reproduces_fingerprint(run_cli, cli_world, key_attribute):
    exported = run_cli(
        "export", "--config-file", cli_world.config_file, "--region", "eu-frankfurt-1",
        "--vault-id", cli_world.source_vault_id, "--key-id", getattr(cli_world, key_attribute),
        "--wrapping-public-key", cli_world.public_key_file, "--output-file", "key.json", "--output", "json",
    )
    assert exported.exit_code == 0, exported.stderr
    printed = exported.json()["key_fingerprint"]["value"]

    inspected = run_cli("inspect", "key.json", "--private-key", cli_world.private_key_file, "--output", "json")

    assert inspected.exit_code == 0, inspected.stderr
    assert inspected.json()["computed_fingerprint"]["value"] == printed
    assert inspected.json()["fingerprint_matches"] is True


def test_aes_fingerprint_is_key_check_value_of_current_version(run_cli, cli_world):
    exported = export_aes(run_cli, cli_world)
    key = cli_world.key(cli_world.source_vault_id, cli_world.aes_key_id)
    current = next(version for version in key.versions if version.id == key.current_version_id)

    assert exported.json()["key_version_id"] == current.id
    assert exported.json()["key_fingerprint"]["value"] == keywrap.key_check_value(current.material)


def test_export_older_version(run_cli, cli_world):
    key = cli_world.key(cli_world.source_vault_id, cli_world.aes_key_id)
    oldest = key.versions[0]

    exported = export_aes(run_cli, cli_world, "--key-version-id", oldest.id)

    assert exported.exit_code == 0, exported.stderr
    assert exported.json()["key_version_id"] == oldest.id
    assert exported.json()["key_fingerprint"]["value"] == keywrap.key_check_value(oldest.material)


def test_inspect_wrong_private_key(run_cli, cli_world, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    assert export_aes(run_cli, cli_world).exit_code == 0
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_file = tmp_path / "other.pem"
    other_file.write_bytes(other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    result = run_cli("inspect", "aes.json", "--private-key", str(other_file))

    assert result.exit_code == 2
    assert "--private-key" in result.stderr


@pytest.mark.parametrize("key_attribute", ["aes_key_id", "rsa_key_id"])
def test_restore_into_third_vault(run_cli, cli_world, key_attribute):
    key_id = getattr(cli_world, key_attribute)
    exported = run_cli(
        "export", "--config-file", cli_world.config_file, "--region", "eu-frankfurt-1",
        "--vault-id", cli_world.source_vault_id, "--key-id", key_id,
        "--wrapping-public-key", cli_world.public_key_file, "--output-file", "key.json", "--output", "json",
    )
    assert exported.exit_code == 0, exported.stderr

    restored = run_cli(
        "restore", "key.json", "--private-key", cli_world.private_key_file, "--config-file", cli_world.config_file,
        "--region", "eu-amsterdam-1", "--vault-id", cli_world.third_vault_id,
        "--compartment-id", cli_world.compartment_id, "--output", "json",
    )

    assert restored.exit_code == 0, restored.stderr
    document = restored.json()
    assert document["verification"]["deep_verify"] == "passed"
    source_key = cli_world.key(cli_world.source_vault_id, key_id)
    source_material = next(v.material for v in source_key.versions if v.id == exported.json()["key_version_id"])
    restored_key = cli_world.key(cli_world.third_vault_id, document["key_id"])
    assert restored_key.versions[-1].material == source_material
    assert restored_key.freeform_tags["kms_key_backup_restored_from_key_version_id"] == exported.json()["key_version_id"]


def test_restore_twice_is_idempotent(run_cli, cli_world):
    assert export_aes(run_cli, cli_world).exit_code == 0
    argv = (
        "restore", "aes.json", "--private-key", cli_world.private_key_file, "--config-file", cli_world.config_file,
        "--region", "eu-amsterdam-1", "--vault-id", cli_world.third_vault_id,
        "--compartment-id", cli_world.compartment_id, "--output", "json",
    )

    first = run_cli(*argv)
    second = run_cli(*argv)

    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 0, second.stderr
    assert first.json()["key_id"] == second.json()["key_id"]
    assert len(cli_world.server.state.vaults[cli_world.third_vault_id].keys) == 1


def test_restore_rejects_version_into_sync_copy(run_cli, cli_world, tmp_path):
    job = {"source": {"region": "eu-frankfurt-1", "vault_id": cli_world.source_vault_id},
           "targets": [{"region": "eu-stockholm-1", "vault_id": cli_world.target_vault_id,
                        "compartment_id": cli_world.compartment_id}]}
    (tmp_path / "job.json").write_text(json.dumps(job))
    assert run_cli("sync", "--job", "job.json", "--config-file", cli_world.config_file).exit_code == 0
    copy_id = next(key.id for key in cli_world.server.state.vaults[cli_world.target_vault_id].keys.values()
                   if key.freeform_tags.get("kms_key_backup_source_key_id") == cli_world.aes_key_id)
    assert export_aes(run_cli, cli_world).exit_code == 0
    admin = AdminClient(cli_world.server.url)
    admin.clear_calls()

    result = run_cli(
        "restore", "aes.json", "--private-key", cli_world.private_key_file, "--config-file", cli_world.config_file,
        "--region", "eu-stockholm-1", "--vault-id", cli_world.target_vault_id, "--key-id", copy_id,
        "--output", "json",
    )

    assert result.exit_code == 2, result.stderr
    error = result.json()["error"]
    assert error["field"] == "--key-id"
    assert error["value"] == copy_id
    assert "--compartment-id" in error["fix"]
    assert [call for call in admin.calls() if call["write"]] == []
    assert len(cli_world.key(cli_world.target_vault_id, copy_id).versions) == 2


def test_export_rejects_private_key_as_public(run_cli, cli_world):
    result = run_cli(
        "export", "--config-file", cli_world.config_file, "--region", "eu-frankfurt-1",
        "--vault-id", cli_world.source_vault_id, "--key-id", cli_world.aes_key_id,
        "--wrapping-public-key", cli_world.private_key_file,
    )

    assert result.exit_code == 2
    assert "--wrapping-public-key" in result.stderr
    assert "-pubout" in result.stderr
    assert AdminClient(cli_world.server.url).calls() == []
