"""`python -m kms_emulator` as a process: ready file, SIGTERM, and the state file across restarts."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kms_emulator.testing import Kms, make_oci_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def start_process(tmp_path):
    processes = []

    def start(*extra: str) -> tuple[subprocess.Popen, dict]:
        ready_file = tmp_path / f"ready-{len(processes)}.json"
        process = subprocess.Popen([sys.executable, "-m", "kms_emulator", "--host", "127.0.0.1", "--port", "0",
                                    "--ready-file", str(ready_file), "--lifecycle-delay-ms", "10", *extra],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        processes.append(process)
        deadline = time.monotonic() + 30
        while not ready_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"emulator did not start: {process.communicate(timeout=5)[1].decode()}")
            time.sleep(0.05)
        return process, json.loads(ready_file.read_text())

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


class _Endpoints:
    """The ready file's endpoints in the shape `Kms` expects of an in-process server."""

    def __init__(self, ready: dict):
        self.url = ready["url"]
        self.kms_endpoint_template = ready["kms_endpoint_template"]
        self.telemetry_endpoint_template = ready["telemetry_endpoint_template"]


def test_ready_file_and_sigterm(start_process, world, tmp_path):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(world.seed()))
    process, ready = start_process("--seed", str(seed_file))
    assert ready["pid"] == process.pid
    assert "{region}" in ready["kms_endpoint_template"]
    assert ready["admin_url"].endswith("/_emulator/")
    kms = Kms(_Endpoints(ready), make_oci_config(world, tmp_path))
    vault = kms.create_vault(world.main.compartment_id)
    assert vault.management_endpoint.startswith(ready["url"])
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0


def test_state_file_survives_restart(start_process, world, tmp_path):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(world.seed()))
    state_file = tmp_path / "state.json"
    process, ready = start_process("--seed", str(seed_file), "--state-file", str(state_file))
    kms = Kms(_Endpoints(ready), make_oci_config(world, tmp_path))
    vault = kms.create_vault(world.main.compartment_id)
    key = kms.create_key(vault, world.main.compartment_id)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert os.stat(state_file).st_mode & 0o777 == 0o600

    process, ready = start_process("--state-file", str(state_file))
    kms = Kms(_Endpoints(ready), make_oci_config(world, tmp_path))
    vault = kms.vault_client().get_vault(vault.id).data
    restored = kms.management(vault).get_key(key.id).data
    assert restored.current_key_version == key.current_key_version
    assert restored.lifecycle_state == "ENABLED"


def test_bad_seed_file_exits_with_message(tmp_path):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text("{not json")
    result = subprocess.run([sys.executable, "-m", "kms_emulator", "--seed", str(seed_file)], cwd=ROOT,
                            capture_output=True, timeout=30)
    assert result.returncode == 2
    assert b"not valid JSON" in result.stderr
