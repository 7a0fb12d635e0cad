"""Show the function's main job on this machine: `make demo`.

The demo starts the local OCI KMS emulator with a source vault in eu-frankfurt-1 and an empty
target vault in eu-stockholm-1, then runs func.py through fdk on a unix socket, signed as a
resource principal, the way OCI Functions runs it:

1. a scheduled sweep copies every software key with all its versions, and reports the keys it
   cannot copy (an HSM key, an ECDSA key, a disabled key);
2. one key is rotated, and the CloudEvent OCI Events would send copies only its new version;
3. a second sweep finds nothing to do.

Everything runs on 127.0.0.1 in temporary directories, which the demo removes with its processes.
It exits 0 when each step shows what it should, and 1 otherwise.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

import oci  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from kms_emulator import AdminClient  # noqa: E402
from kms_emulator import ocids  # noqa: E402
from kms_emulator.crypto import fingerprint_of_public_key  # noqa: E402
from kms_key_backup.function.local import LocalFunction  # noqa: E402

SOURCE_REGION = "eu-frankfurt-1"
TARGET_REGION = "eu-stockholm-1"
ROTATED_KEY = "payments"
SOURCE_KEYS = [
    {"display_name": "payments", "algorithm": "AES", "length": 32, "versions": 3},
    {"display_name": "orders", "algorithm": "AES", "length": 16, "versions": 1},
    {"display_name": "ledger", "algorithm": "AES", "length": 24, "versions": 2},
    {"display_name": "hsm-payments", "algorithm": "AES", "length": 32, "protection_mode": "HSM"},
    {"display_name": "code-signing", "algorithm": "ECDSA", "length": 32, "curve_id": "NIST_P256"},
    {"display_name": "retired", "algorithm": "AES", "length": 32, "lifecycle_state": "DISABLED"},
]


def new_rsa_key():
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode("ascii")
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return private_key, private_pem, public_pem


def start_emulator(work_dir: Path) -> tuple[subprocess.Popen, dict]:
    """Start `python -m kms_emulator` on a free port and return the process and its ready file."""
    ready_file = work_dir / "emulator-ready.json"
    log = open(work_dir / "emulator.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "kms_emulator", "--host", "127.0.0.1", "--port", "0",
         "--ready-file", str(ready_file), "--lifecycle-delay-ms", "50"],
        cwd=str(REPOSITORY), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    log.close()
    stop_at = time.monotonic() + 30
    while not ready_file.exists():
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with code {process.returncode}; "
                               f"see {work_dir / 'emulator.log'}")
        if time.monotonic() > stop_at:
            raise RuntimeError("the emulator did not become ready within 30 s")
        time.sleep(0.05)
    return process, json.loads(ready_file.read_text())


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def print_report(title: str, report: dict, names: dict) -> None:
    """Print a run report as a short table: one line per key, then the totals."""
    print(f"\n== {title}")
    print(f"   status {report['status']}, trigger {report.get('trigger')}, "
          f"run {report.get('run_id', '')[:8]}")
    if report.get("action") == "none":
        print(f"   nothing run: {report.get('reason')}")
        return
    for key in report.get("keys", []):
        name = key.get("display_name") or names.get(key["source_key_id"], key["source_key_id"])
        for target in key.get("targets", []):
            copied = len(target.get("versions_copied", []))
            print(f"   {name:<14} {target['action']:<16} {copied} version(s) copied, "
                  f"{target.get('versions_already_copied', 0)} already there"
                  + (f", {len(target['versions_left'])} left" if target.get("versions_left")
                     else ""))
    for key in report.get("unsupported", []):
        name = key.get("display_name") or names.get(key["source_key_id"], key["source_key_id"])
        print(f"   {name:<14} {'not copied':<16} {key.get('reason')}")
    counts = report.get("counts", {})
    print(f"   totals: {counts.get('versions_copied', 0)} version(s) copied, "
          f"{counts.get('keys_created', 0)} key(s) created, "
          f"{counts.get('keys_unsupported', 0)} unsupported, "
          f"{counts.get('keys_failed', 0)} failed")


def rotated_key_event(key_id: str, key_version_id: str, compartment_id: str) -> dict:
    """Return a CloudEvent like the one OCI Events sends when a key version has been created.

    OCI documents ``additionalDetails`` as free-form; the function looks there for the key's OCID
    first and, without it, scans the configured keys for the version.
    """
    return {
        "eventType": "com.oraclecloud.keymanagementservice.createkeyversion.end",
        "cloudEventsVersion": "0.1",
        "eventTypeVersion": "2.0",
        "source": "KeyManagementService",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "contentType": "application/json",
        "eventID": str(uuid.uuid4()),
        "extensions": {"compartmentId": compartment_id},
        "data": {"compartmentId": compartment_id, "resourceName": ROTATED_KEY,
                 "resourceId": key_version_id, "additionalDetails": {"keyId": key_id}},
    }


def run_demo(work_dir: Path) -> bool:
    print("Generating the demo's API key and resource-principal session key (RSA-2048)...")
    _, user_private_pem, user_public_pem = new_rsa_key()
    user_key = serialization.load_pem_public_key(user_public_pem.encode())
    _, session_private_pem, session_public_pem = new_rsa_key()

    tenancy_id = ocids.new_tenancy_id()
    source_compartment_id = ocids.new_compartment_id()
    target_compartment_id = ocids.new_compartment_id()
    user_id = ocids.new_user_id()
    function_id = f"ocid1.fnfunc.oc1.{SOURCE_REGION}.demo{uuid.uuid4().hex[:24]}"

    emulator, ready = start_emulator(work_dir)
    function = None
    try:
        print(f"Emulator listening on {ready['url']}")
        admin = AdminClient(ready["url"])
        created = admin.seed({
            "tenancies": [{"id": tenancy_id,
                           "compartments": [source_compartment_id, target_compartment_id],
                           "users": [{"id": user_id,
                                      "fingerprint": fingerprint_of_public_key(user_key),
                                      "public_key_pem": user_public_pem}]}],
            "vaults": [
                {"tenancy_id": tenancy_id, "compartment_id": source_compartment_id,
                 "region": SOURCE_REGION, "display_name": "payments-vault", "keys": SOURCE_KEYS},
                {"tenancy_id": tenancy_id, "compartment_id": target_compartment_id,
                 "region": TARGET_REGION, "display_name": "payments-vault-dr", "keys": []},
            ],
        })
        source, target = created["vaults"]
        names = dict(zip(source["keys"], [key["display_name"] for key in SOURCE_KEYS]))
        print(f"Source vault {SOURCE_REGION}: {len(SOURCE_KEYS)} keys "
              "(3 software AES keys, 1 HSM key, 1 ECDSA key, 1 disabled key)")
        print(f"Target vault {TARGET_REGION}: empty")

        secrets = work_dir / "resource-principal"
        secrets.mkdir(mode=0o700)
        token_path = secrets / "rpst"
        token_path.write_text(admin.resource_principal_token(
            tenancy_id, source_compartment_id, function_id, session_public_pem))
        key_path = secrets / "private.pem"
        key_path.write_text(session_private_pem)
        key_path.chmod(0o600)

        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPOSITORY),
            "HOME": str(work_dir),
            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
            "OCI_RESOURCE_PRINCIPAL_RPST": str(token_path),
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(key_path),
            "OCI_RESOURCE_PRINCIPAL_REGION": SOURCE_REGION,
            "KMS_BACKUP_SOURCE_REGION": SOURCE_REGION,
            "KMS_BACKUP_SOURCE_VAULT_ID": source["id"],
            "KMS_BACKUP_TARGETS": json.dumps([{"region": TARGET_REGION, "vault_id": target["id"],
                                               "compartment_id": target_compartment_id}]),
            "KMS_BACKUP_KMS_ENDPOINT_TEMPLATE": ready["kms_endpoint_template"],
            "KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE": ready["telemetry_endpoint_template"],
        }
        function = LocalFunction(REPOSITORY / "func.py", environment, work_dir / "fdk")
        function.start()
        print(f"fdk serving func.py on {function.socket_path}")

        first = function.invoke({"trigger": "schedule"}, deadline_seconds=300).json()
        print_report("1. Scheduled sweep", first, names)

        user_key_file = work_dir / "api_key.pem"
        user_key_file.write_text(user_private_pem)
        user_key_file.chmod(0o600)
        operator_config = {"user": user_id, "fingerprint": fingerprint_of_public_key(user_key),
                           "tenancy": tenancy_id, "region": SOURCE_REGION,
                           "key_file": str(user_key_file)}
        management = oci.key_management.KmsManagementClient(
            operator_config, service_endpoint=source["management_endpoint"])
        rotated_key_id = source["keys"][0]
        version = management.create_key_version(rotated_key_id).data
        oci.wait_until(management, management.get_key_version(rotated_key_id, version.id),
                       "lifecycle_state", "ENABLED", max_wait_seconds=30, max_interval_seconds=1)
        print(f"\nRotated key {ROTATED_KEY}: new version {version.id}")

        admin.clear_calls()
        event = rotated_key_event(rotated_key_id, version.id, source_compartment_id)
        second = function.invoke(event, deadline_seconds=300).json()
        print_report("2. CloudEvent createkeyversion.end", second, names)
        vault_calls = [call for call in admin.calls() if call.get("category") != "monitoring"]
        other_keys = {call["key_id"] for call in vault_calls
                      if call.get("key_id") and call["key_id"] in names
                      and call["key_id"] != rotated_key_id}
        print(f"   {len(vault_calls)} Vault call(s); calls about other source keys: "
              f"{len(other_keys)}")

        third = function.invoke(b"", deadline_seconds=300).json()
        print_report("3. Sweep with nothing new", third, names)

        metrics = admin.metrics()
        print(f"\nMonitoring datapoints stored by the emulator: {len(metrics)} "
              f"({', '.join(sorted({item['name'] for item in metrics}))})")

        checks = {
            "the sweep copied the 6 versions of the 3 software keys":
                first.get("counts", {}).get("versions_copied") == 6,
            "the sweep reported the HSM, ECDSA and disabled keys as not copied":
                first.get("counts", {}).get("keys_unsupported") == 3,
            "the event copied exactly the new version":
                second.get("counts", {}).get("versions_copied") == 1,
            "the event touched no other source key": not other_keys,
            "the last sweep copied nothing":
                third.get("counts", {}).get("versions_copied") == 0
                and third.get("status") in ("ok", "partial"),
            "metrics reached Monitoring": bool(metrics),
        }
        print()
        for description, passed in checks.items():
            print(f"   [{'ok' if passed else 'FAILED'}] {description}")
        return all(checks.values())
    finally:
        if function is not None:
            function.stop()
        stop_process(emulator)


def main() -> int:
    work_dir = Path(tempfile.mkdtemp(prefix="kms-key-backup-demo-"))
    try:
        passed = run_demo(work_dir)
    except Exception as exc:  # noqa: BLE001 - the demo reports any failure and cleans up
        print(f"\nThe demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        passed = False
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print("\nDemo finished: " + ("every step behaved as expected." if passed
                                 else "some steps did not behave as expected."))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
