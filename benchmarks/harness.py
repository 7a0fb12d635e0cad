"""The benchmark's environment: one emulator, its seeded vaults, and the child processes that run scenarios.

The emulator runs in the driver process (an ``EmulatorServer`` thread on 127.0.0.1 and a free
port), so the driver can prepare seeded key material before a timed run without any API call.
Every measured run happens in a child process: the engine runs in ``benchmarks.engine_run``, the
baseline in ``benchmarks.baseline``, and the function in ``fdk`` on a unix socket. A child's
peak RSS is therefore its own, and the emulator's work never counts against it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kms_emulator import AdminClient, EmulatorServer
from kms_emulator.models import version_material
from kms_emulator.testing import World, make_oci_config, new_api_key
from kms_key_backup.plan import (TAG_COPIED_VERSIONS, TAG_SOURCE_KEY_ID, TAG_SOURCE_REGION,
                                 TAG_SOURCE_VAULT_ID)

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE_REGION = "eu-frankfurt-1"
TARGET_REGION = "eu-stockholm-1"
CHILD_TIMEOUT_SECONDS = 1800


@dataclass(frozen=True)
class VaultPair:
    """A seeded source vault, its target vault, and the source key OCIDs in seed order."""

    source_vault_id: str
    target_vault_id: str
    target_compartment_id: str
    key_ids: list
    key_shapes: list  # (algorithm, length in bytes) per key, in seed order

    def job(self) -> dict:
        """Return the job that copies every software key of the source vault, with default options."""
        return {"source": {"region": SOURCE_REGION, "vault_id": self.source_vault_id},
                "targets": [{"region": TARGET_REGION, "vault_id": self.target_vault_id,
                             "compartment_id": self.target_compartment_id}]}


class BenchEnvironment:
    """One emulator with a world of two tenancies, an API-key config, and a work directory."""

    def __init__(self, work_dir: Path, latency_ms: int, throttle_rps: float | None, lifecycle_delay_ms: int,
                 reuse_wrapping_keys: bool = False):
        self.work_dir = work_dir
        self.world = World.new(new_api_key())
        self.server = EmulatorServer(host="127.0.0.1", port=0, seed=self.world.seed(), latency_ms=0,
                                     throttle_rps=None, lifecycle_delay_ms=lifecycle_delay_ms,
                                     reuse_wrapping_keys=reuse_wrapping_keys)
        self.latency_ms = latency_ms
        self.throttle_rps = throttle_rps
        self.oci_config: dict = {}
        self.admin: AdminClient | None = None

    def __enter__(self) -> "BenchEnvironment":
        self.server.start()
        self.admin = AdminClient(self.server.url)
        self.oci_config = make_oci_config(self.world, self.work_dir)
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.stop()

    # --- emulator settings -----------------------------------------------------------------------

    def measured(self) -> None:
        """Switch the emulator to the benchmark's latency and throttle, and clear its call log."""
        self.admin.update_settings(latency_ms=self.latency_ms, throttle_rps=self.throttle_rps)
        self.admin.clear_calls()

    def unmeasured(self) -> None:
        """Switch latency and throttling off, for setup steps that are not timed."""
        self.admin.update_settings(latency_ms=0, throttle_rps=None)

    # --- seeding ---------------------------------------------------------------------------------

    def seed_pair(self, source_keys: list[dict], name: str) -> VaultPair:
        """Seed a source vault with ``source_keys`` and an empty target vault, and prepare their secrets.

        Seeded RSA material comes from a pool filled on first use, and a vault's RSA-4096 wrapping
        key is made on first use too. Both are made here, so that no timed run pays for key
        generation that OCI would not do.
        """
        ids = self.world.main
        created = self.admin.seed({"vaults": [
            {"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id, "region": SOURCE_REGION,
             "display_name": f"{name}-source", "keys": source_keys},
            {"tenancy_id": ids.tenancy_id, "compartment_id": ids.second_compartment_id, "region": TARGET_REGION,
             "display_name": f"{name}-target", "keys": []},
        ]})
        source, target = created["vaults"]
        self.prepare_secrets(source["id"], target["id"])
        shapes = [(key.get("algorithm", "AES"), key.get("length", 32)) for key in source_keys]
        return VaultPair(source["id"], target["id"], ids.second_compartment_id, source["keys"], shapes)

    def add_vault(self, region: str, name: str) -> str:
        """Seed an empty target vault in the second compartment, make its wrapping key, and return its OCID."""
        ids = self.world.main
        created = self.admin.seed({"vaults": [{"tenancy_id": ids.tenancy_id, "compartment_id": ids.second_compartment_id,
                                               "region": region, "display_name": name, "keys": []}]})
        vault_id = created["vaults"][0]["id"]
        with self.server.state.lock:
            self.server.state.vaults[vault_id].wrapping_private_key()
        return vault_id

    def prepare_secrets(self, source_vault_id: str, target_vault_id: str) -> None:
        """Make the source's key material and the target's wrapping key now, outside any timed run."""
        state = self.server.state
        with state.lock:
            state.vaults[target_vault_id].wrapping_private_key()
            source = state.vaults[source_vault_id]
            for key in source.keys.values():
                if key.protection_mode == "SOFTWARE":
                    for version in key.versions:
                        version_material(key, version)

    def seed_pair_with_copies(self, source_keys: list[dict], name: str) -> VaultPair:
        """Seed a source vault, then a target vault holding an up-to-date copy of each source key.

        Each copy carries the provenance and ``copied-versions`` tags the engine writes, so a sweep
        finds every key current. The target is seeded second because the tags name the source's
        key and version OCIDs, which exist only once the source is seeded.

        NOTE: a seeded copy has its own key material, not the source's. A sweep with nothing to
        copy reads only the tags, so this does not change what it does. Seeding makes 1,000
        current copies appear at once instead of through 1,000 throttled imports.
        """
        ids = self.world.main
        created = self.admin.seed({"vaults": [
            {"tenancy_id": ids.tenancy_id, "compartment_id": ids.compartment_id, "region": SOURCE_REGION,
             "display_name": f"{name}-source", "keys": source_keys}]})
        source = created["vaults"][0]
        state = self.server.state
        copies = []
        with state.lock:
            source_vault = state.vaults[source["id"]]
            for key_id in source["keys"]:
                key = source_vault.keys[key_id]
                copies.append({
                    "display_name": key.display_name, "algorithm": key.algorithm, "length": key.length,
                    "versions": len(key.versions),
                    "freeform_tags": {TAG_SOURCE_REGION: SOURCE_REGION, TAG_SOURCE_VAULT_ID: source["id"],
                                      TAG_SOURCE_KEY_ID: key_id,
                                      TAG_COPIED_VERSIONS: f"{len(key.versions)}:{key.current_version_id}"}})
        created = self.admin.seed({"vaults": [
            {"tenancy_id": ids.tenancy_id, "compartment_id": ids.second_compartment_id, "region": TARGET_REGION,
             "display_name": f"{name}-target", "keys": copies}]})
        target_id = created["vaults"][0]["id"]
        self.prepare_secrets(source["id"], target_id)
        shapes = [(key.get("algorithm", "AES"), key.get("length", 32)) for key in source_keys]
        return VaultPair(source["id"], target_id, ids.second_compartment_id, source["keys"], shapes)

    # --- child processes -------------------------------------------------------------------------

    def write_spec(self, name: str, spec: dict) -> Path:
        path = self.work_dir / f"{name}.json"
        path.write_text(json.dumps(spec))
        path.chmod(0o600)
        return path

    def engine_spec(self, job: dict) -> dict:
        return {"oci_config": self.oci_config, "kms_endpoint_template": self.server.kms_endpoint_template,
                "telemetry_endpoint_template": self.server.telemetry_endpoint_template, "job": job}

    def run_child(self, name: str, module: str, *args: str) -> dict:
        """Run ``python -m module args`` and return the JSON object it prints last; raise if it fails."""
        log_path = self.work_dir / f"{name}.log"
        started = time.perf_counter()
        with open(log_path, "ab") as log:
            completed = subprocess.run([sys.executable, "-m", module, *args], cwd=str(REPOSITORY),
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                       env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
                                       timeout=CHILD_TIMEOUT_SECONDS, check=False)
        elapsed = time.perf_counter() - started
        if completed.returncode != 0:
            raise RuntimeError(f"{module} {' '.join(args)} exited with code {completed.returncode}; "
                               f"see {log_path}")
        lines = completed.stdout.decode("utf-8").strip().splitlines()
        result = json.loads(lines[-1])
        result["process_wall_seconds"] = elapsed
        return result
