"""The original script's two documented invocations, unchanged, against the emulator."""

import json
import os
import stat

from kms_emulator import AdminClient
from kms_key_backup import keywrap


def write_config(tmp_path, cli_world, **keys):
    # The README's config file, with the emulator's OCIDs and the test OCI config file.
    document = {
        "ociconfig": cli_world.config_file,
        "source_ociprofile": "my-config-fra",
        "source_region": "eu-frankfurt-1",
        "source_compartment": cli_world.compartment_id,
        "source_vault": cli_world.source_vault_id,
        "wrapping_algorithm": "RSA_OAEP_AES_SHA256",
    }
    document.update(keys)
    path = tmp_path / "kms_backup.json"
    path.write_text(json.dumps(document, indent=4))
    return str(path)


def copy_config(tmp_path, cli_world, key_id):
    return write_config(
        tmp_path, cli_world, source_key_ocid=key_id, target_region="eu-stockholm-1",
        target_compartment=cli_world.compartment_id, target_vault=cli_world.target_vault_id,
        target_ociprofile="my-config-ams",
    )


def test_export_invocation(run_cli, cli_world, tmp_path):
    key = cli_world.key(cli_world.source_vault_id, cli_world.aes_key_id)
    version = key.versions[0]
    config_file = write_config(tmp_path, cli_world)

    result = run_cli(
        "--configfile", config_file, "--target_keyname", "test1", "--source_key_ocid", cli_world.aes_key_id,
        "--exportonly", "--wrapping_pubkey_file", "export_pub.pem", "--source_key_version", version.id,
    )

    assert result.exit_code == 0, result.stderr
    written = [name for name in os.listdir(tmp_path) if name.startswith("kms-key-backup-export-")]
    assert len(written) == 1
    assert stat.S_IMODE(os.stat(tmp_path / written[0]).st_mode) == 0o600
    assert keywrap.key_check_value(version.material) in result.stdout
    assert json.loads((tmp_path / written[0]).read_text())["key_version_id"] == version.id


def test_export_invocation_outfile(run_cli, cli_world, tmp_path):
    config_file = write_config(tmp_path, cli_world)

    result = run_cli(
        "--configfile", config_file, "--source_key_ocid", cli_world.rsa_key_id, "--exportonly",
        "--wrapping_pubkey_file", "export_pub.pem", "--outfile", "rsa.json",
    )
    inspected = run_cli("inspect", "rsa.json", "--private-key", cli_world.private_key_file, "--output", "json")

    assert result.exit_code == 0, result.stderr
    assert inspected.exit_code == 0, inspected.stderr
    assert inspected.json()["computed_fingerprint"]["value"] in result.stdout


def test_copy_invocation_copies_every_version(run_cli, cli_world, tmp_path):
    source_key = cli_world.key(cli_world.source_vault_id, cli_world.aes_key_id)
    config_file = copy_config(tmp_path, cli_world, cli_world.aes_key_id)

    result = run_cli(
        "--configfile", config_file, "--target_keyname", "test2", "--source_key_ocid", cli_world.aes_key_id,
        "--source_key_version", source_key.versions[0].id,
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    target_keys = list(cli_world.server.state.vaults[cli_world.target_vault_id].keys.values())
    assert len(target_keys) == 1
    assert target_keys[0].display_name == "test2"
    assert [v.material for v in target_keys[0].versions] == [v.material for v in source_key.versions]


def test_copy_invocation_rerun_changes_nothing(run_cli, cli_world, tmp_path):
    config_file = copy_config(tmp_path, cli_world, cli_world.rsa_key_id)
    argv = ("--configfile", config_file, "--target_keyname", "test2", "--source_key_ocid", cli_world.rsa_key_id)
    assert run_cli(*argv).exit_code == 0
    admin = AdminClient(cli_world.server.url)
    admin.clear_calls()

    second = run_cli(*argv)

    assert second.exit_code == 0, second.stdout + second.stderr
    assert [call for call in admin.calls() if call["write"] or call["operation"] == "ExportKey"] == []
    assert len(cli_world.server.state.vaults[cli_world.target_vault_id].keys) == 1


def test_copy_invocation_honours_target_region(run_cli, cli_world, tmp_path):
    # The target vault is in eu-stockholm-1; naming another region must fail, not be ignored.
    config_file = copy_config(tmp_path, cli_world, cli_world.aes_key_id)

    result = run_cli("--configfile", config_file, "--target_region", "eu-amsterdam-1")

    assert result.exit_code == 2
    assert "target_vault" in result.stderr
    assert "eu-amsterdam-1" in result.stderr
    assert cli_world.server.state.vaults[cli_world.target_vault_id].keys == {}


def test_copy_invocation_bad_key_ocid(run_cli, cli_world, tmp_path):
    config_file = copy_config(tmp_path, cli_world, cli_world.source_vault_id)

    result = run_cli("--configfile", config_file)

    assert result.exit_code == 2
    assert "source_key_ocid" in result.stderr
    assert AdminClient(cli_world.server.url).calls() == []
