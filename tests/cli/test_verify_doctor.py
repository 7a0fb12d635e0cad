"""verify and doctor against the emulator: read-only checks of copies and of a job's vaults."""

import json

import oci

from kms_emulator import AdminClient
from kms_emulator.testing import Kms


def write_job(tmp_path, cli_world, target_vault_id=None, target_region="eu-stockholm-1"):
    job = {
        "source": {"region": "eu-frankfurt-1", "vault_id": cli_world.source_vault_id},
        "targets": [{"region": target_region, "vault_id": target_vault_id or cli_world.target_vault_id,
                     "compartment_id": cli_world.compartment_id}],
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    return str(path)


def test_verify_after_sync(run_cli, cli_world, tmp_path):
    job_file = write_job(tmp_path, cli_world)
    synced = run_cli("sync", "--job", job_file, "--config-file", cli_world.config_file)
    assert synced.exit_code == 0, synced.stdout + synced.stderr
    admin = AdminClient(cli_world.server.url)
    admin.clear_calls()

    result = run_cli("verify", "--job", job_file, "--config-file", cli_world.config_file, "--deep", "--output", "json")

    assert result.exit_code == 0, result.stdout + result.stderr
    document = result.json()
    assert document["status"] == "ok"
    checks = [v["check"] for key in document["keys"] for t in key["targets"] for v in t["versions"]]
    assert checks == ["deep_digest_equal"] * 4
    assert [call for call in admin.calls() if call["write"]] == []


def test_verify_detects_changed_material(run_cli, cli_world, tmp_path):
    job_file = write_job(tmp_path, cli_world)
    assert run_cli("sync", "--job", job_file, "--config-file", cli_world.config_file).exit_code == 0
    copy = next(key for key in cli_world.server.state.vaults[cli_world.target_vault_id].keys.values()
                if key.algorithm == "AES")
    copy.versions[0].material = bytes(32)

    result = run_cli("verify", "--job", job_file, "--config-file", cli_world.config_file, "--deep", "--output", "json")

    assert result.exit_code == 1
    failed = [v for key in result.json()["keys"] for t in key["targets"] for v in t["versions"] if not v["ok"]]
    assert [v["target_key_version_id"] for v in failed] == [copy.versions[0].id]


def test_verify_without_copies_is_partial(run_cli, cli_world, tmp_path):
    job_file = write_job(tmp_path, cli_world)

    result = run_cli("verify", "--job", job_file, "--config-file", cli_world.config_file)

    assert result.exit_code == 3
    assert "no copy in this target" in result.stdout


def test_verify_names_why_key_is_not_copied(run_cli, cli_world, tmp_path):
    config = oci.config.from_file(cli_world.config_file)
    kms = Kms(cli_world.server, config)
    vault = kms.vault_client("eu-frankfurt-1").get_vault(cli_world.source_vault_id).data
    kms.management(vault).create_key(oci.key_management.models.CreateKeyDetails(
        compartment_id=cli_world.compartment_id, display_name="hsm-key", protection_mode="HSM",
        key_shape=oci.key_management.models.KeyShape(algorithm="AES", length=32)))
    job_file = write_job(tmp_path, cli_world)
    assert run_cli("sync", "--job", job_file, "--config-file", cli_world.config_file).exit_code == 3

    result = run_cli("verify", "--job", job_file, "--config-file", cli_world.config_file, "--output", "json")

    assert result.exit_code == 3
    hsm_key = next(key for key in result.json()["keys"] if key["display_name"] == "hsm-key")
    reason = hsm_key["targets"][0]["reason"]
    assert "HSM" in reason
    assert "run sync" not in reason


def test_doctor_passes(run_cli, cli_world, tmp_path):
    result = run_cli("doctor", "--job", write_job(tmp_path, cli_world), "--config-file", cli_world.config_file,
                     "--output", "json")

    assert result.exit_code == 0, result.stdout
    assert all(check["ok"] for check in result.json()["checks"])
    assert [call for call in AdminClient(cli_world.server.url).calls() if call["write"] or call["operation"] == "ExportKey"] == []


def test_doctor_reports_missing_vault(run_cli, cli_world, tmp_path):
    # The third vault lives in eu-amsterdam-1, so looking it up in eu-stockholm-1 must fail.
    job_file = write_job(tmp_path, cli_world, target_vault_id=cli_world.third_vault_id.replace("eu-amsterdam-1", "eu-stockholm-1"))

    result = run_cli("doctor", "--job", job_file, "--config-file", cli_world.config_file, "--output", "json")

    assert result.exit_code == 1
    failed = [check["check"] for check in result.json()["checks"] if not check["ok"]]
    assert failed == ["targets[0] vault", "targets[0] wrapping key", "targets[0] compartment"]


def test_sync_with_profile_option(run_cli, cli_world, tmp_path):
    result = run_cli("sync", "--job", write_job(tmp_path, cli_world), "--auth", "api_key",
                     "--config-file", cli_world.config_file, "--profile", "my-config-ams", "--output", "json")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.json()["status"] == "ok"


def test_unknown_profile_is_invalid_input(run_cli, cli_world, tmp_path):
    result = run_cli("doctor", "--job", write_job(tmp_path, cli_world), "--config-file", cli_world.config_file,
                     "--profile", "nope")

    assert result.exit_code == 2
    assert "--profile" in result.stderr
