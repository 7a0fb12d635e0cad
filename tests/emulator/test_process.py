"""`python -m kms_emulator` as a process: ready file, SIGTERM, and the state file across restarts."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kms_emulator.testing import Kms, make_oci_config
from test_export_import import check_export_every_version_in_two_regions

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


def test_process_exports_every_version_in_two_regions(start_process, world, tmp_path, caller_key_3072):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(world.seed()))
    process, ready = start_process("--seed", str(seed_file))
    kms = Kms(_Endpoints(ready), make_oci_config(world, tmp_path))

    check_export_every_version_in_two_regions(kms, world.main.compartment_id, caller_key_3072)


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


def _seed_with(world, **vault) -> dict:
    seed = world.seed()
    seed["vaults"] = [{"tenancy_id": world.main.tenancy_id, "compartment_id": world.main.compartment_id,
                       "region": "eu-frankfurt-1", **vault}]
    return seed


BAD_SEEDS = {
    "tenancies-not-list": (lambda world: {"tenancies": "main"}, "tenancies"),
    "tenancy-not-object": (lambda world: {"tenancies": [5]}, "tenancies[0]"),
    "compartments-not-list": (lambda world: {"tenancies": [{"id": "ocid1.tenancy.oc1..a", "compartments": "c"}]},
                              "compartments"),
    "user-pem-garbage": (lambda world: {"tenancies": [{"id": "ocid1.tenancy.oc1..a", "users": [
        {"id": "ocid1.user.oc1..u", "public_key_pem": "not a key"}]}]}, "public_key_pem"),
    "region-invalid": (lambda world: _seed_with(world, region="Frankfurt"), "region"),
    "vault-type-invalid": (lambda world: _seed_with(world, vault_type="EXTERNAL"), "vault_type"),
    "vault-compartment-foreign": (lambda world: _seed_with(world, compartment_id=world.other.compartment_id),
                                  "compartment_id"),
    "vault-id-wrong-region": (lambda world: _seed_with(world, id="ocid1.vault.oc1.us-ashburn-1.abc.def"), "id"),
    "key-not-object": (lambda world: _seed_with(world, keys=["k1"]), "keys[0]"),
    "key-length-text": (lambda world: _seed_with(world, keys=[{"display_name": "k", "length": "32"}]), "keys[0]"),
    "key-protection-mode": (lambda world: _seed_with(world, keys=[{"display_name": "k", "protection_mode": "EXTERNAL"}]),
                            "protection_mode"),
    "key-tags-not-map": (lambda world: _seed_with(world, keys=[{"display_name": "k", "freeform_tags": ["a"]}]),
                         "freeform_tags"),
    "key-versions-bool": (lambda world: _seed_with(world, keys=[{"display_name": "k", "versions": True}]), "versions"),
    "settings-not-object": (lambda world: {**world.seed(), "settings": [1]}, "settings"),
}


@pytest.mark.parametrize("case", sorted(BAD_SEEDS))
def test_bad_seed_content_names_the_field(world, case):
    from kms_emulator.backend import Backend
    from kms_emulator.errors import InvalidParameter

    make_seed, field_name = BAD_SEEDS[case]
    backend = Backend()
    with pytest.raises(InvalidParameter) as failure:
        backend.add_world(make_seed(world))
    assert field_name in failure.value.message
    assert backend.vaults == {}


def test_bad_seed_content_exits_with_message(world, tmp_path):
    make_seed, field_name = BAD_SEEDS["key-tags-not-map"]
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(make_seed(world)))
    result = subprocess.run([sys.executable, "-m", "kms_emulator", "--seed", str(seed_file),
                             "--ready-file", str(tmp_path / "ready.json")], cwd=ROOT, capture_output=True, timeout=30)
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert field_name.encode() in result.stderr
    assert not (tmp_path / "ready.json").exists()


def test_bad_seed_over_admin_api_writes_nothing(emulator, world):
    from kms_emulator.admin import AdminClient, AdminError

    admin = AdminClient(emulator.url)
    seed = _seed_with(world, display_name="good")
    seed["vaults"].append({"tenancy_id": world.main.tenancy_id, "compartment_id": world.main.compartment_id,
                           "region": "nowhere"})
    with pytest.raises(AdminError) as failure:
        admin.seed(seed)
    assert failure.value.status == 400
    assert "vaults[1].region" in failure.value.message
    assert emulator.state.vaults == {}


@pytest.mark.parametrize("content", ['{"format_version": 1}', '{"format_version": 1, "tenancies": [{"id": 1}], '
                                     '"vaults": [], "settings": {}}', "[]", "{torn"])
def test_bad_state_file_exits_with_message(tmp_path, content):
    state_file = tmp_path / "state.json"
    state_file.write_text(content)
    result = subprocess.run([sys.executable, "-m", "kms_emulator", "--state-file", str(state_file)], cwd=ROOT,
                            capture_output=True, timeout=30)
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert str(state_file).encode() in result.stderr


def test_sigterm_during_stalled_request_exits_cleanly(start_process, world, tmp_path):
    import threading

    from kms_emulator.admin import AdminClient

    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(world.seed()))
    process, ready = start_process("--seed", str(seed_file))
    kms = Kms(_Endpoints(ready), make_oci_config(world, tmp_path))
    AdminClient(ready["url"]).add_fault("ListVaults", action="stall", stall_seconds=60)
    outcome = {}

    def list_vaults():
        try:
            kms.vault_client().list_vaults(world.main.compartment_id)
            outcome["result"] = "answered"
        except Exception as exc:  # noqa: BLE001 - any failure is the expected outcome of a stopped server
            outcome["result"] = type(exc).__name__

    caller = threading.Thread(target=list_vaults)
    caller.start()
    deadline = time.monotonic() + 10
    while not AdminClient(ready["url"]).calls(operation="ListVaults") and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    caller.join(timeout=30)
    # Stopping wakes the stall, so the request either completes or loses its connection. It never hangs.
    assert not caller.is_alive()
    assert outcome["result"] in ("answered", "ConnectionError", "RequestException", "ServiceError")
    stderr = process.communicate(timeout=10)[1]
    assert b"Traceback" not in stderr
