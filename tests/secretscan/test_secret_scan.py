"""The secret scan finds key material and blobs in every form it looks for, and nothing else."""

import base64
import json
import os

import pytest

from secret_scan import SESSION_SCAN, SecretScan

MATERIAL = bytes(range(7, 39))  # 32 bytes, as an AES-256 key


def _scan_with(text: str) -> list[str]:
    scan = SecretScan()
    scan.add_secret(MATERIAL, "material of a test key")
    scan.add_text("test text", text)
    return scan.scan()


@pytest.mark.parametrize("form", [
    MATERIAL.hex(),
    MATERIAL.hex().upper(),
    base64.b64encode(MATERIAL).decode(),
    base64.urlsafe_b64encode(MATERIAL).decode().rstrip("="),
    MATERIAL.decode("latin-1"),
])
def test_scan_finds_each_form(form):
    hits = _scan_with(f"log line before {form} and after")

    assert hits == ["test text: contains material of a test key"]


def test_scan_finds_base64_split_across_lines():
    encoded = base64.b64encode(MATERIAL * 3).decode()
    pem_like = "\n".join(encoded[i:i + 20] for i in range(0, len(encoded), 20))
    scan = SecretScan()
    scan.add_secret(MATERIAL * 3, "a long secret")
    scan.add_text("json log", json.dumps({"message": pem_like}))

    assert scan.scan() == ["json log: contains a long secret"]


def test_scan_ignores_other_text():
    other = bytes(range(100, 132))

    assert _scan_with(f"{other.hex()} {base64.b64encode(other).decode()} ok") == []


def test_scan_reads_files_but_skips_mode_0600(tmp_path):
    leaked = tmp_path / "report.json"
    leaked.write_text(json.dumps({"blob": base64.b64encode(MATERIAL).decode()}))
    export_file = tmp_path / "export.json"
    export_file.write_text(MATERIAL.hex())
    os.chmod(export_file, 0o600)
    scan = SecretScan()
    scan.add_secret(MATERIAL, "material")

    hits = scan.scan(tmp_path)

    assert hits == [f"file {leaked}: contains material"]


def test_session_scan_collects_emulator_material(emulator, oci_config, world):
    from kms_emulator.testing import Kms

    kms = Kms(emulator, oci_config)
    vault = kms.create_vault(world.main.compartment_id)
    kms.create_key(vault, world.main.compartment_id)
    emulator.stop()

    material = emulator.state.secret_material()
    assert material
    assert all(secret in SESSION_SCAN.secrets for secret in material)
