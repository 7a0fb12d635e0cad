"""`kms-key-backup sync` and `plan` against the emulator, in-process and as a subprocess.

Also the secrets check: no log line, report or output of these runs contains key material the
emulator holds, or anything as long as a wrapped key blob.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
import sys

import pytest

from engine_helpers import all_material, export_and_import_calls
from kms_key_backup.cli import EXIT_INVALID_INPUT, EXIT_PARTIAL, main

pytestmark = pytest.mark.oci_verified

# A wrapped blob is at least 512 bytes (the RSA-4096 part alone), 684 characters of base64.
LONG_BASE64 = re.compile(r"[A-Za-z0-9+/=]{300,}")


@pytest.fixture
def cli_files(tmp_path, oci_config, job_data, emulator, monkeypatch):
    config_file = tmp_path / "oci_config"
    config_file.write_text("[DEFAULT]\n" + "".join(f"{name}={value}\n" for name, value in oci_config.items()))
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(job_data))
    monkeypatch.setenv("KMS_BACKUP_KMS_ENDPOINT_TEMPLATE", emulator.kms_endpoint_template)
    return {"config": str(config_file), "job": str(job_file)}


def _secrets_in(text: str, materials: list[bytes]) -> list[str]:
    found = []
    for material in materials:
        for encoded in (material.hex(), base64.b64encode(material).decode(), base64.b64encode(material[:24]).decode()):
            if encoded in text:
                found.append(encoded[:16] + "...")
    found.extend(match[:16] + "..." for match in LONG_BASE64.findall(text))
    return found


def test_cli_sync_exits_partial_then_makes_no_export(vaults, small_keys, cli_files, capsys):
    vaults.kms.create_key(vaults.source, vaults.compartment_id, algorithm="AES", length=32,
                          protection_mode="HSM", name="hsm")
    argv = ["sync", "--job", cli_files["job"], "--config-file", cli_files["config"], "--output", "json"]

    assert main(argv) == EXIT_PARTIAL
    first = json.loads(capsys.readouterr().out)
    vaults.kms.admin.clear_calls()
    assert main(argv) == EXIT_PARTIAL

    assert first["counts"]["versions_copied"] == 5
    assert first["unsupported"][0]["display_name"] == "hsm"
    assert export_and_import_calls(vaults.kms.admin) == []


def test_cli_invalid_job_exits_2_before_any_call(vaults, cli_files, tmp_path, capsys):
    bad_job = tmp_path / "bad.json"
    bad_job.write_text(json.dumps({"source": {"region": "eu-frankfurt-1"}, "targets": []}))
    vaults.kms.admin.clear_calls()

    code = main(["sync", "--job", str(bad_job), "--config-file", cli_files["config"]])

    assert code == EXIT_INVALID_INPUT
    assert "job.source.vault_id" in capsys.readouterr().err
    assert vaults.kms.admin.calls() == []


def test_cli_missing_job_file_exits_2(cli_files, tmp_path, capsys):
    code = main(["plan", "--job", str(tmp_path / "absent.json"), "--config-file", cli_files["config"]])

    assert code == EXIT_INVALID_INPUT
    assert "--job" in capsys.readouterr().err


def test_no_secret_in_logs_reports_or_output(vaults, small_keys, cli_files, emulator, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    argv = ["sync", "--job", cli_files["job"], "--config-file", cli_files["config"], "--output", "json",
            "--log-level", "DEBUG"]
    main(argv)
    in_process = capsys.readouterr()
    plan = subprocess.run([sys.executable, "-m", "kms_key_backup", "plan", "--job", cli_files["job"],
                           "--config-file", cli_files["config"], "--log-level", "DEBUG"],
                          capture_output=True, text=True, timeout=120, env={**os.environ})
    log_text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    materials = all_material(emulator)

    assert plan.returncode == 0, plan.stderr
    assert len(materials) >= 5
    assert json.loads(in_process.out)["counts"]["versions_copied"] == 5
    assert _secrets_in(in_process.out + in_process.err, materials) == []
    assert _secrets_in(log_text, materials) == []
    assert _secrets_in(plan.stdout + plan.stderr, materials) == []
