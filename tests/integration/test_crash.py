"""Crash safety: a run that dies after any API call is completed by the next run, without duplicates.

The crash is simulated in-process: once the allowed calls have gone out, every further call
raises `SimulatedCrash`, a BaseException that nothing in the engine catches, so no later call
reaches the emulator, as if the process had died. The next run uses a new ClientFactory, as a
new process would.

Only writes change the target, so a crash after call k leaves the same target, and the same
retry tokens on the service, as a crash right after the last write among the first k calls.
The test therefore crashes the run after each write in turn, and before the first one, which
covers the end state of a crash after every call k.
"""

from __future__ import annotations

import pytest

from engine_helpers import TARGET_REGION, exact_copy_problems, fast_retry_strategy
from kms_key_backup.clients import MANAGEMENT_WRITE, ClientFactory
from kms_key_backup.engine import run_job
from kms_key_backup.job import parse_job

pytestmark = [pytest.mark.oci_verified, pytest.mark.slow]


class SimulatedCrash(BaseException):
    """The process died."""


class _CrashingBucket:
    def __init__(self, budget: dict, is_write: bool):
        self._budget = budget
        self._is_write = is_write

    def acquire(self) -> float:
        if self._budget["crashed"]:
            raise SimulatedCrash()
        if self._is_write:
            if self._budget["writes_left"] <= 0:
                self._budget["crashed"] = True
                raise SimulatedCrash()
            self._budget["writes_left"] -= 1
        return 0.0

    def set_rate(self, rate: float) -> None:
        pass


class CrashingFactory(ClientFactory):
    """A ClientFactory whose process dies when it is about to make write number `writes + 1`."""

    def __init__(self, *args, writes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self._budget = {"writes_left": writes, "crashed": False}

    def bucket(self, region: str, category: str):
        return _CrashingBucket(self._budget, category == MANAGEMENT_WRITE)


@pytest.fixture
def crash_keys(vaults):
    """An AES key with 3 versions, an RSA key with 2 versions and an HSM key."""
    kms, vault, compartment_id = vaults.kms, vaults.source, vaults.compartment_id
    aes = kms.create_key(vault, compartment_id, algorithm="AES", length=32, name="aes-3")
    kms.rotate(vault, aes.id)
    kms.rotate(vault, aes.id)
    rsa = kms.create_key(vault, compartment_id, algorithm="RSA", length=256, name="rsa-2")
    kms.rotate(vault, rsa.id)
    kms.create_key(vault, compartment_id, algorithm="AES", length=32, protection_mode="HSM", name="hsm")
    return [aes.id, rsa.id]


def _job(job_data: dict, target_vault_id: str):
    target = {**job_data["targets"][0], "vault_id": target_vault_id}
    return parse_job({**job_data, "targets": [target], "options": {**job_data["options"], "concurrency": 1}})


def test_crash_after_every_call_then_rerun_makes_exact_copy(vaults, crash_keys, job_data, emulator, oci_config):
    def factory(**kwargs):
        cls = CrashingFactory if "writes" in kwargs else ClientFactory
        return cls(oci_config, kms_endpoint_template=emulator.kms_endpoint_template,
                   retry_strategy=fast_retry_strategy(), requests_per_second=1000, **kwargs)

    def new_target_vault():
        return vaults.kms.create_vault(vaults.target_compartment_id, region=TARGET_REGION).id

    clean_vault = new_target_vault()
    clean = run_job(_job(job_data, clean_vault), factory())
    total_writes = sum(count for name, count in clean.calls["by_category"].items() if name.endswith("/management_write"))
    assert total_writes == 7  # 2 import_key, 3 import_key_version, 2 update_key
    assert exact_copy_problems(emulator, vaults.source.id, clean_vault, crash_keys) == []

    failures = []
    # A crash before the last write leaves work for the rerun; the clean run covers no crash.
    for writes in range(total_writes):
        target_vault_id = new_target_vault()
        job = _job(job_data, target_vault_id)
        with pytest.raises(SimulatedCrash):
            run_job(job, factory(writes=writes))
        rerun = run_job(job, factory()).to_dict()
        problems = exact_copy_problems(emulator, vaults.source.id, target_vault_id, crash_keys)
        if problems or rerun["counts"]["keys_failed"]:
            failures.append({"crash_after_writes": writes, "problems": problems, "keys": rerun["keys"]})
    assert failures == []
